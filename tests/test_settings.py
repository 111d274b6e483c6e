"""Typed settings: misspelt and renamed names are refused with a suggestion, every application
exists in every preset with a network that can be built, settings are frozen values."""
import dataclasses

import pytest

import dip_lib as dip


def test_a_misspelt_setting_is_refused_with_the_right_name():
    with pytest.raises((TypeError, ValueError, KeyError)) as err:
        dip.preset("denoising", stpes=5)
    msg = str(err.value)
    assert "stpes" in msg and "did you mean 'steps'" in msg
    assert isinstance(err.value, dip.UnknownSetting) and isinstance(err.value, TypeError)
    with pytest.raises(dip.UnknownSetting, match="'stpes' \\(did you mean 'steps'\\?\\)"):
        dip.preset("denoising", "test").replace(stpes=5)


def test_renamed_settings_point_to_the_new_name():
    with pytest.raises(dip.UnknownSetting, match="'reg_noise' \\(did you mean 'sigma_p'\\?\\)"):
        dip.preset("denoising", reg_noise=0.03)
    with pytest.raises(dip.UnknownSetting, match="'input_kind' \\(did you mean 'input'\\?\\)"):
        dip.preset("tour", "test").replace(input_kind="meshgrid")


def test_a_setting_of_another_application_is_refused():
    with pytest.raises(dip.UnknownSetting, match="'quality'.*for denoising"):
        dip.preset("denoising", quality=10)


def test_unknown_application_and_preset_are_clear_errors():
    with pytest.raises(ValueError, match="unknown application 'denoise' \\(did you mean 'denoising'\\?\\)"):
        dip.preset("denoise")
    with pytest.raises(ValueError, match="unknown preset 'fast'.*test, cpu, paper"):
        dip.preset("denoising", "fast")


@pytest.mark.parametrize("name", dip.PRESETS)
@pytest.mark.parametrize("app", list(dip.APPLICATIONS))
def test_every_application_builds_in_every_preset(app, name):
    p = dip.preset(app, name)
    cls, _ = dip.APPLICATIONS[app]
    assert type(p) is cls and isinstance(p, dip.Settings)
    assert p.application == app and p.name == name
    # the network it names exists and takes its code (a ValueError otherwise)
    spec = dip.architecture(p.arch, in_channels=p.input_depth, width=p.width)
    assert spec.code_channels == p.input_depth or p.arch == "deep_decoder"
    assert p.steps >= 1 and p.every >= 1 and p.lr > 0


def test_active_preset_follows_the_environment(monkeypatch):
    for name in dip.PRESETS:
        monkeypatch.setenv("DIP_PRESET", name)
        assert dip.active_preset() == name and dip.preset("tour") == dip.preset("tour", name)
    assert dip.preset("tour", "test") != dip.preset("tour", "paper")
    monkeypatch.setenv("DIP_PRESET", "gpu")
    with pytest.raises(ValueError, match="DIP_PRESET='gpu' is not a preset"):
        dip.preset("tour")


def test_settings_are_frozen():
    p = dip.preset("denoising", "test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.steps = 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.new_field = 1
    assert hash(p) == hash(dip.preset("denoising", "test"))


def test_replace_returns_a_changed_copy():
    p = dip.preset("denoising", "test")
    steps = p.steps
    q = p.replace(steps=7)
    assert q.steps == 7 and p.steps == steps != 7 and type(q) is type(p)
    assert dataclasses.replace(q, steps=p.steps) == p
    assert dip.preset("denoising", "test", steps=7) == q


@pytest.mark.parametrize("change, message", [(dict(steps=0), "steps must be a positive whole number"),
                                             (dict(steps=2.5), "steps must be a positive whole number"),
                                             (dict(lr=0), "lr must be positive"),
                                             (dict(sigma_p=-0.1), "sigma_p must be >= 0"),
                                             (dict(ema=1.0), "ema must be in"),
                                             (dict(every=0), "every must be a positive"),
                                             (dict(input="fourier"), "input must be 'noise' or 'meshgrid'")])
def test_bad_values_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        dip.preset("denoising", "test").replace(**change)


def test_reproduce_scopes_apply_from_broad_to_narrow():
    p = dip.preset("reproduce", "paper")
    barbara = p.for_image("inpainting", "barbara")
    assert (barbara.steps, barbara.lr, barbara.arch, barbara.sigma_p) == (11000, 0.001, "restoration", 0.03)
    # a narrower scope wins over a broader one: table/image over table over the preset
    custom = p.replace(tables=(("inpainting", (("steps", 500),)), ("inpainting/lena", (("steps", 70),))))
    assert custom.for_image("inpainting", "lena").steps == 70
    assert custom.for_image("inpainting", "boat").steps == 500 and custom.for_image("denoising").steps == p.steps
    sr8 = p.for_image("sr8", "baby", task="sr")
    assert (sr8.arch, sr8.steps, sr8.sigma_p) == ("sr", 4000, 0.05)
    assert p.for_image("denoising").restarts == 2


def test_describe_and_keys():
    p = dip.preset("denoising", "test")
    assert "preset 'test' for denoising" in p.describe() and f"{p.steps} steps" in p.describe()
    assert {"sigma_p", "es_window", "es_patience", "precision", "early_stop", "blind_steps"} <= set(p.keys()) and "reg_noise" not in p.keys()

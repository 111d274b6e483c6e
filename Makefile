# The two commands of the README:
#   make course   set up a virtual environment and open the course in JupyterLab
#   make test     set up the same environment and run every test (unit tests + all notebooks, `test` preset)
# TORCH pins the version CI uses; on Colab the notebooks use Colab's own torch.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
# extra pip options for torch, e.g. TORCH_PIP="--index-url https://download.pytorch.org/whl/cpu" for a CPU-only build
TORCH_PIP ?=
JOBS ?= 2
BIN := $(VENV)/bin
DATA_MIRROR := $(abspath ../shared/data)

.PHONY: setup course test unit notebooks exercises sync strip bench gallery clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements-dev.txt
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install $(TORCH_PIP) "$(TORCH)"
	$(BIN)/python -c "import torch; print('torch', torch.__version__)" > $(VENV)/.torch
	echo "torch==$$($(BIN)/python -c 'import torch; print(torch.__version__)')" > $(VENV)/constraints.txt
	$(BIN)/pip install -c $(VENV)/constraints.txt -r requirements-dev.txt bm3d
	$(BIN)/pip install -c $(VENV)/constraints.txt --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

setup: $(VENV)/.installed

course: setup
	$(BIN)/jupyter lab notebooks/

# DIP_DATA_DIR: the local data mirror when it exists (CI and tests never use the network)
test: setup
	cd $(CURDIR) && \
	  export DIP_PRESET=test DIP_DEVICE=cpu MPLBACKEND=Agg OMP_NUM_THREADS=1 PYDEVD_DISABLE_FILE_VALIDATION=1; \
	  if [ -d "$(DATA_MIRROR)" ]; then export DIP_DATA_DIR="$(DATA_MIRROR)"; fi; \
	  $(BIN)/python tools/course.py check-exercises && \
	  $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax -p no:cacheprovider \
	    --durations=25 tests notebooks exercises

unit: setup
	DIP_PRESET=test $(BIN)/python -m pytest -n $(JOBS) tests

sync:
	$(BIN)/jupytext --sync notebooks/*.py

bench: setup
	$(BIN)/python benchmarks/bench_fit.py --size 256 --steps 20

gallery: setup
	$(BIN)/python tools/gallery.py --preset cpu

clean:
	rm -rf $(VENV) .pytest_cache

# The two commands of the README:
#   make course   set up a virtual environment and open the course in JupyterLab
#   make test     set up the same environment and run every test (unit tests + all notebooks, `test` preset)
# TORCH pins the version CI uses; on Colab the notebooks use Colab's own torch.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
# torch: on Linux without an NVIDIA GPU the small CPU wheel (an extra index: offline, pip warns once and
# installs from the local indexes instead), else the default (CUDA) wheel. TORCH_PIP="" forces the default.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
HAS_NVIDIA := $(shell nvidia-smi -L >/dev/null 2>&1 && echo yes)
ifeq ($(shell uname -s)$(HAS_NVIDIA),Linux)
TORCH_PIP ?= --extra-index-url $(TORCH_CPU_INDEX) --retries 1 --timeout 10
endif
TORCH_PIP ?=
TORCH_SAYS := $(if $(findstring /cpu,$(TORCH_PIP)),no NVIDIA GPU found: installing the CPU wheel of torch (make TORCH_PIP= for the CUDA one),installing the default wheel of torch (CUDA on Linux))
# make course: extra flags for JupyterLab (e.g. JUPYTER_ARGS="--no-browser --port 8890"); as root it adds --allow-root
JUPYTER_ARGS ?=
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
JOBS ?= 2
BIN := $(VENV)/bin
DATA_MIRROR := $(abspath ../shared/data)

.PHONY: setup course test test-extras test-cpu test-matrix test-matrix-ci test-cpu-matrix browser-test unit notebooks exercises sync strip bench gallery clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements-dev.txt
	$(BIN)/python -c "import torch" 2>/dev/null || { echo "$(TORCH_SAYS)"; $(BIN)/pip install $(TORCH_PIP) "$(TORCH)"; }
	$(BIN)/python -c "import torch; print('torch', torch.__version__)" > $(VENV)/.torch
	echo "torch==$$($(BIN)/python -c 'import torch; print(torch.__version__)')" > $(VENV)/constraints.txt
	$(BIN)/pip install -c $(VENV)/constraints.txt -r requirements-dev.txt
	$(BIN)/pip install -c $(VENV)/constraints.txt --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

setup: $(VENV)/.installed

# JupyterLab at the repository root (notebooks/, exercises/, docs/) with the tour open; the data mirror when it exists
course: setup
	if [ -d "$(DATA_MIRROR)" ]; then export DIP_DATA_DIR="$(DATA_MIRROR)"; fi; \
	  exec $(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(ALLOW_ROOT) $(JUPYTER_ARGS) notebooks/00_tour.ipynb

# DIP_DATA_DIR: the local data mirror when it exists (CI and tests never use the network)
test: setup
	cd $(CURDIR) && \
	  export DIP_PRESET=test DIP_DEVICE=cpu MPLBACKEND=Agg OMP_NUM_THREADS=1 PYDEVD_DISABLE_FILE_VALIDATION=1; \
	  if [ -d "$(DATA_MIRROR)" ]; then export DIP_DATA_DIR="$(DATA_MIRROR)"; fi; \
	  $(BIN)/python tools/course.py check-exercises && \
	  $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax -p no:cacheprovider \
	    --durations=25 tests notebooks exercises

# optional extras (bm3d, non-commercial licence): installed and tested apart from what Binder and Colab install
test-extras: setup
	$(BIN)/python -c "import bm3d" 2>/dev/null || $(BIN)/pip install -c $(VENV)/constraints.txt bm3d || \
	  echo "bm3d could not be installed (no package index?): its tests are skipped"
	DIP_PRESET=test DIP_DEVICE=cpu MPLBACKEND=Agg $(BIN)/python -m pytest -p no:cacheprovider -q -n 0 -m extras tests

# JupyterLab in headless Chromium (playwright driving the system's chromium): make course opens the tour,
# notebooks 00 and 11 run, the live view redraws, the ablation panel refits; screenshots in build/browser/
CHROMIUM ?= $(firstword $(wildcard /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome))
browser-test: setup
	$(BIN)/python -c "import playwright" 2>/dev/null || $(BIN)/pip install -c $(VENV)/constraints.txt playwright
	CHROMIUM="$(CHROMIUM)" $(BIN)/python -m pytest -p no:cacheprovider -q -n 0 -s tests/browser/smoke_browser.py

# the `cpu` preset (Binder's settings, ~5 min a notebook on 2 cores): each notebook's checks assert the
# paper's lesson there too (03: DIP >= non-local means and > TV; 05: DIP > TV > bicubic; ...). Slow: not in CI.
test-cpu: setup
	cd $(CURDIR) && \
	  export DIP_PRESET=cpu DIP_DEVICE=cpu MPLBACKEND=Agg PYDEVD_DISABLE_FILE_VALIDATION=1; \
	  if [ -d "$(DATA_MIRROR)" ]; then export DIP_DATA_DIR="$(DATA_MIRROR)"; fi; \
	  $(BIN)/python -m pytest -n 1 --nbval-lax -p no:cacheprovider --nbval-cell-timeout=1200 \
	    --durations=0 notebooks

# the portability matrix (tools/test_matrix.py): every test-preset notebook and exercise under 1 and 2 threads,
# ATen's default and best kernels, oneDNN capped at AVX2 / SSE4.1, and seeds 0-2; every check's margin in
# benchmarks/results/test-matrix-<machine>-<date>.md/.json (about 30 min on 2 cores; finished cells are kept in
# build/test-matrix, MATRIX_ARGS=--fresh starts over)
MATRIX_ARGS ?=
test-matrix: setup
	$(BIN)/python tools/test_matrix.py $(MATRIX_ARGS)

# CI's slice of it: the notebooks with ATen's default kernels under 1 and 2 threads (make test runs the best ones)
test-matrix-ci: setup
	$(BIN)/python tools/test_matrix.py --build build/test-matrix-ci --fresh --envs t1-default t2-default \
	  --only notebooks --no-report

# the cpu lessons of 00 03 05 06 12 over seeds 0-2 (2 threads) and AVX2 kernels: about 80 min, not in CI;
# writes benchmarks/results/cpu-matrix-<machine>-<date>.md/.json and the figure gallery (docs/figures)
test-cpu-matrix: setup
	$(BIN)/python tools/test_matrix.py --preset cpu $(MATRIX_ARGS)

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

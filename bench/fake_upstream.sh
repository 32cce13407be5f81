#!/usr/bin/env bash
# Requests/second of the fake OpenAI upstream on one core (streamed, 20 chunks, usage).
# Needs wrk. Usage: bench/fake_upstream.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
port=9911
.venv/bin/python -m continuum.testing fake-openai --port "$port" --chunks 20 &
pid=$!
trap 'kill $pid' EXIT
sleep 1.5
wrk -t1 -c32 -d"${1:-5}s" -s bench/chat.lua "http://127.0.0.1:$port/v1/chat/completions"

#!/bin/sh
# Stops the example app (relink runs it when it undoes a node's first deploy,
# so nothing serves from a release that is no longer there).
set -eu
base=${RELINK_DEPLOY_TO:?RELINK_DEPLOY_TO is not set}
pidfile="$base/shared/run/app.pid"
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if kill "$pid" 2>/dev/null; then
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$pidfile"

#!/bin/sh
# Restarts the example app from the release it is called in. relink runs it
# with the working directory set to the new release and RELINK_DEPLOY_TO set.
set -eu
release=$(pwd -P)
base=${RELINK_DEPLOY_TO:?RELINK_DEPLOY_TO is not set}
pidfile="$base/shared/run/app.pid"
mkdir -p "$base/shared/run" "$base/shared/log"
if [ -f "$pidfile" ]; then
  old=$(cat "$pidfile")
  if kill "$old" 2>/dev/null; then
    i=0
    while kill -0 "$old" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    kill -9 "$old" 2>/dev/null || true
  fi
fi
setsid nohup node "$release/server.js" >>"$base/shared/log/app.log" 2>&1 </dev/null &
echo $! >"$pidfile"

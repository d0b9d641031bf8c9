#!/usr/bin/env bash
# Prints what `make run` brought up and how to use it (reads DIR/demo.env).
set -euo pipefail
dir=$1
set -a; . "$dir/demo.env"; set +a
here=$(cd "$(dirname "$0")/../.." && pwd)
cat <<TXT

  Tally is running.

  API            $TALLY_URL   (/healthz, /readyz, /metrics)
  Ingest metrics $TALLY_INGEST_METRICS_URL
  Admin login    $TALLY_ADMIN_EMAIL / $TALLY_ADMIN_PASSWORD
  Agent API key  $TALLY_AGENT_KEY
  Demo tenant    $TALLY_TENANT_ID
  All of it      $dir/demo.env   (source it: set -a; . $dir/demo.env; set +a)
  Logs           $dir/log/{serve,ingest,postgres,nats}.log

  Send a sample batch:

    curl -sS -X POST $TALLY_URL/v1/agent/inventory \\
      -H "Authorization: Bearer $TALLY_AGENT_KEY" \\
      -H 'Content-Type: application/json' \\
      --data-binary @$here/docs/examples/inventory-batch.json

  See the device it created:

    psql "$TALLY_OWNER_DATABASE_URL" -c 'SELECT hostname, os_name, last_seen FROM devices'

  Ctrl-C stops everything. Data stays in $dir; \`make reset\` deletes it.

TXT

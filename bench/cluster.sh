#!/usr/bin/env bash
# The cluster fault tests with more work, and the same work with no fault on three brokers beside
# one broker, in one run on this machine (ClusterFaultsProcessIT; three Kafka processes with
# replication 3 and min.insync.replicas 2, several instances of each service):
#   bench/cluster.sh [--images N] [--rate R] [--test NAME]
# --images: images per test (default 2000; the CI run sends 200), --rate: images per second sent
# at a steady rate (default 10), --test: one test method (default all, and the baseline).
# Each test prints what its fault cost (longest gap between results, p99 of the images sent during
# the fault beside the run's p50/p99) and the exactly-once counts; the baseline prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
images=2000
rate=10
test=ClusterFaultsProcessIT
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images) images=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --test) test="ClusterFaultsProcessIT#$2"; shift 2 ;;
    *) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p;}' "$0"; exit 2 ;;
  esac
done
mvn -B -q install -DskipTests
mvn -B verify -pl services/captioning -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test="$test" -Dfailsafe.failIfNoSpecifiedTests=false -Dfailsafe.rerunFailingTestsCount=0 \
  -Dvision.cluster.images="$images" -Dvision.cluster.rate="$rate" -Dvision.cluster.baseline=true \
  | grep -E '^\[(cluster IT|test cluster)\]|^\||Tests run:|FAIL'

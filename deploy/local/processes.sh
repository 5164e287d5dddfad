# shellcheck shell=bash
# Process helpers shared by kafka.sh and services.sh (source it; it only defines functions).

# pid_running PID_FILE CMDLINE_PATTERN: prints the pid in PID_FILE and succeeds when that process
# is alive and its command line contains CMDLINE_PATTERN (so a recycled pid is not taken for ours).
pid_running() {
  local pid_file=$1 pattern=$2 pid
  [[ -f "$pid_file" ]] || return 1
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null && grep -q "$pattern" "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
    return 0
  fi
  return 1
}

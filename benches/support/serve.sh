# Sourced by the benchmarks that load `btdb serve`.
# start_server BIN PORT [FLAGS…]: `BIN serve --bind 127.0.0.1:PORT -q FLAGS…` in the background,
# its pid in $server, returning once it answers (or after 10 s).
start_server() {
    local bin=$1 port=$2
    shift 2
    "$bin" serve --bind "127.0.0.1:$port" -q "$@" &
    server=$!
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$port/api/status" >/dev/null && return 0
        sleep 0.2
    done
}

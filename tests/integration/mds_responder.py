"""A one-shot HTTP responder for the test guest's metadata-service tests, run by QEMU's user network as
`guestfwd=tcp:169.254.169.254:80-cmd:python3 mds_responder.py <root>`: the guest's connection is this
program's stdin and stdout. It answers one GET with the file <root>/<path> (404 when there is none) and exits.
Each request's path is appended to <root>.requests so the test can see what the guest asked for.
"""
import sys
from pathlib import Path


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    request = sys.stdin.buffer.readline().decode("latin-1").split()
    while sys.stdin.buffer.readline() not in (b"\r\n", b"\n", b""):
        pass
    path = request[1] if len(request) >= 2 else "/"
    with open(f"{root}.requests", "a") as log:
        log.write(path + "\n")
    target = (root / path.lstrip("/")).resolve()
    if request[:1] == ["GET"] and target.is_file() and target.is_relative_to(root):
        status, body = "200 OK", target.read_bytes()
    else:
        status, body = "404 Not Found", b"not found\n"
    head = f"HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    sys.stdout.buffer.write(head.encode() + body)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()

"""A local HTTP server for download tests, and the files each dataset's official source publishes, built small.

`serve(folder)` serves a folder at http://127.0.0.1:<free port>/ from a thread and shuts it down afterwards; `drop`
makes it promise a file's full Content-Length and cut the connection after a few bytes. `write_archives` builds the
published files (cifar-10-python.tar.gz, the four Fashion-MNIST .gz files, speech_commands_v0.01.tar.gz) from the small
trees of `datatrees`, and `write_sources` the $MIXUP_NB_SOURCES file that points the downloader at them, with their sums.
"""
from __future__ import annotations
import contextlib, functools, hashlib, http.server, json, shutil, socket, tarfile, threading
from pathlib import Path

try: from datatrees import write_cifar10, write_cifar100, write_fashionmnist, write_speechcommands     # under pytest
except ImportError: from tests.datatrees import write_cifar10, write_cifar100, write_fashionmnist, write_speechcommands   # from nbs/


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

    def do_GET(self):
        self.server.requests.append(self.path)
        cut = self.server.drop.get(self.path)
        if cut is None: return super().do_GET()
        data = (Path(self.directory) / self.path.lstrip('/')).read_bytes()
        self.send_response(200); self.send_header('Content-Length', str(len(data))); self.end_headers()
        self.wfile.write(data[:cut]); self.wfile.flush()
        self.close_connection = True                      # the client sees the end of the stream before the promised length


@contextlib.contextmanager
def serve(folder, drop: dict | None = None, requests: list | None = None):
    """Serve `folder` on 127.0.0.1 (a free port) in a thread, yielding its base URL; `drop` maps '/name' to the bytes sent
    before the connection is cut; every request's path is appended to `requests`."""
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Handler, directory=str(folder)))
    srv.drop, srv.requests = dict(drop or {}), requests if requests is not None else []
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    try: yield f'http://127.0.0.1:{srv.server_address[1]}/'
    finally:
        srv.shutdown(); srv.server_close(); t.join(5)


def dead_url() -> str:
    "A URL on a local port nothing listens on (bound, then closed): every fetch fails at once, with or without a network."
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
    return f'http://127.0.0.1:{port}/'


def _md5(p) -> str: return hashlib.md5(Path(p).read_bytes()).hexdigest()


def write_archives(out, dataset: str, **kw) -> dict:
    """Write into `out` the files `dataset`'s official source publishes, built from a small tree (`kw` go to its writer).
    Returns {'files': {published file: md5}, 'sums': {file a loader checks: md5}, 'info': the tree writer's info}."""
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    tree = out / f'.tree-{dataset}'
    sums = {}
    if dataset in ('CIFAR10', 'CIFAR100'):
        info = (write_cifar10 if dataset == 'CIFAR10' else write_cifar100)(tree, **kw)
        files = ['cifar-10-python.tar.gz' if dataset == 'CIFAR10' else 'cifar-100-python.tar.gz']
        with tarfile.open(out / files[0], 'w:gz') as t: t.add(info['folder'], arcname=info['folder'].name)
        sums = info['md5']
    elif dataset == 'FASHIONMNIST':
        info = write_fashionmnist(tree, gz=True, **kw)
        files = sorted(p.name for p in info['folder'].glob('*.gz'))
        for f in files: shutil.copy(info['folder'] / f, out / f)
    elif dataset == 'COMMAND':
        info = write_speechcommands(tree, **kw)
        files = [f"{info['folder'].name}.tar.gz"]
        with tarfile.open(out / files[0], 'w:gz') as t:            # as published: the word folders at the top, no enclosing folder
            for p in sorted(info['folder'].iterdir()): t.add(p, arcname=f'./{p.name}')
    else: raise ValueError(f"no published files known for {dataset!r}")
    shutil.rmtree(tree)
    return {'files': {f: _md5(out / f) for f in files}, 'sums': sums, 'info': info}


def write_sources(path, base_url: str, published: dict) -> Path:
    "Write the $MIXUP_NB_SOURCES JSON pointing each dataset of `published` ({dataset: write_archives(...)}) at `base_url`."
    o = {ds: {**{f: {'url': base_url + f, 'md5': m} for f, m in a['files'].items()}, **{f: {'md5': m} for f, m in a['sums'].items()}}
         for ds, a in published.items()}
    Path(path).write_text(json.dumps(o, indent=1))
    return Path(path)

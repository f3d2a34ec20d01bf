"""Make an ``asv publish`` dashboard self-contained: CDN links -> local copies from npm.

asv 0.6.6's index.html loads jQuery, flot, bootstrap, stupidtable and blueimp-md5 from public
CDNs, so on an offline machine the dashboard only shows error.html. ``fetch`` puts the npm
packages that hold those files (pinned in ``ASSETS`` below) into a cache dir with ``npm pack``;
``vendor`` copies the files into ``HTML_DIR/vendor/<package>@<version>/`` and points the pages
at them. Any other non-local reference (a CDN URL without a pinned mapping, a ``url()`` in CSS,
a URL literal in asv's JavaScript) is an error naming the file and the URL, so an asv upgrade
that adds or bumps a library fails loudly instead of silently leaving a CDN link.

    python -m tools.asv_offline fetch [--cache .asv/vendor]
    python -m tools.asv_offline check-results .asv/results
    python -m tools.asv_offline vendor .asv/html [--cache .asv/vendor]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

VENDOR_DIR = "vendor"               # under the html dir
DEFAULT_CACHE = Path(".asv/vendor")  # git-ignored (.asv/)
NPM_TIMEOUT_S = 300


@dataclass(frozen=True)
class Package:
    """An npm package at a pinned version, with the registry's tarball integrity."""

    name: str
    version: str
    integrity: str  # dist.integrity of the tarball on the npm registry

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Asset:
    """The file inside an npm package that stands in for one CDN URL."""

    package: Package
    path: str       # inside the package (tarball's top folder stripped)
    note: str = ""  # how it differs from the CDN file, where it is known to

    @property
    def local(self) -> str:
        """Path relative to the html dir."""
        return f"{VENDOR_DIR}/{self.package.spec}/{self.path}"


JQUERY = Package("jquery", "3.3.1", "sha512-Ubldcmxp5np52/ENotGxlLe6aGMvmF4R8S6tZjsP6Knsaxd/"
                 "xp3Zrh50cG93lR6nPXyUFwzN3ZSOQI0wRJNdGg==")
FLOT = Package("flot", "0.8.3", "sha512-xg2otcTJDvS+ERK+my4wxG/ASq90QURXtoM4LhacCq0jQW2jbyjdtt"
               "bRNqU2cPykrpMvJ6b2uSp6SAgYAzj9tQ==")
FLOT_ORDERBARS = Package("flot-orderbars", "1.0.0", "sha512-Jv51fvzevUjNXEeozpwEKfPjhiZhfiJddv0W"
                         "HjduUTCmSF+7T5K7C9c9Y1wIVmUhDBv5fLMjgbwKecT0GIKPZA==")
STUPIDTABLE = Package("stupid-table-plugin", "1.1.3", "sha512-2Vk7XouQPxUQPRe9w0Fu7ZZ8kHLK7rDoL"
                      "MsCgtKxRNJ7f4dSOGvW9CkHsq5wD6QsaEnWoyLBYH3xOEsrK3yWBg==")
BLUEIMP_MD5 = Package("blueimp-md5", "2.19.0", "sha512-DRQrD6gJyy8FbiE4s+bDoXS9hiW3Vbx5uCdwvcCf"
                      "3zLHL+Iv7LtGHLpr+GZV8rHG8tK766FGYBwRbu8pELTt+w==")
BOOTSTRAP = Package("bootstrap", "3.1.1", "sha512-TAzqS8E/ISpVHP29gYhy+1NSV+FJwApDVQhDfgLYsIuUDJ"
                    "iqJzH2DfORN5tiu+Ie2iBLrzEG34t4Rf465cigqg==")

_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
_FLOT_NOTE = "npm's flot 0.8.3 ships no .min.js: the unminified source of the same release"

# Every CDN URL in asv 0.6.6's www/index.html -> the npm file that replaces it.
ASSETS: dict[str, Asset] = {
    "https://code.jquery.com/jquery-3.3.1.min.js": Asset(JQUERY, "dist/jquery.min.js"),
    f"{_CDNJS}/flot/0.8.3/jquery.flot.min.js": Asset(FLOT, "jquery.flot.js", _FLOT_NOTE),
    f"{_CDNJS}/flot/0.8.3/jquery.flot.time.min.js": Asset(FLOT, "jquery.flot.time.js", _FLOT_NOTE),
    f"{_CDNJS}/flot/0.8.3/jquery.flot.selection.min.js":
        Asset(FLOT, "jquery.flot.selection.js", _FLOT_NOTE),
    f"{_CDNJS}/flot/0.8.3/jquery.flot.categories.min.js":
        Asset(FLOT, "jquery.flot.categories.js", _FLOT_NOTE),
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js":
        Asset(FLOT_ORDERBARS, "js/jquery.flot.orderBars.js"),
    f"{_CDNJS}/stupidtable/1.0.1/stupidtable.min.js":
        Asset(STUPIDTABLE, "stupidtable.min.js",
              "stupidtable 1.0.1 is not on npm: stupid-table-plugin 1.1.3, the only npm release "
              "(same author and API: stupidtable(), stupidsort(dir), 'aftertablesort')"),
    f"{_CDNJS}/blueimp-md5/2.19.0/js/md5.min.js": Asset(BLUEIMP_MD5, "js/md5.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js":
        Asset(BOOTSTRAP, "dist/js/bootstrap.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css":
        Asset(BOOTSTRAP, "dist/css/bootstrap.min.css"),
}

PACKAGES: tuple[Package, ...] = tuple(dict.fromkeys(a.package for a in ASSETS.values()))

# Attributes that make the browser fetch something, per element.
FETCHED_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
    "frame": ("src",), "source": ("src", "srcset"), "video": ("src", "poster"),
    "audio": ("src",), "track": ("src",), "embed": ("src",), "object": ("data",),
    "input": ("src",),
}
_DROPPED_ATTRS = ("crossorigin", "referrerpolicy")  # meaningless for a same-origin copy

_VALUE = r"""(?:"[^"]*"|'[^']*'|[^\s"'>]+)"""
_TAG = re.compile(rf"""<(?P<name>[a-zA-Z][a-zA-Z0-9-]*)"""
                  rf"""(?P<attrs>(?:\s+[^\s=>/"']+(?:\s*=\s*{_VALUE})?)*)\s*/?>""")
_ATTR = re.compile(rf"""(?P<space>\s+)(?P<key>[^\s=>/"']+)(?:\s*=\s*(?P<value>{_VALUE}))?""")
_EXTERNAL = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//")
_CSS_URL = re.compile(r"""url\(\s*(?P<q>["']?)(?P<url>[^"')]*?)(?P=q)\s*\)"""
                      r"""|@import\s+(?P<q2>["'])(?P<url2>[^"']*)(?P=q2)""")
_JS_URL = re.compile(r"""(?P<q>["'`])(?P<url>(?:https?:)?//[\w-]+(?:\.[\w-]+)+[^"'`\s]*)(?P=q)""")
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>(?P<body>.*?)</script\s*>", re.S | re.I)


class OfflineError(Exception):
    """The dashboard cannot be made self-contained."""


class UnmappedURLError(OfflineError):
    """A non-local URL that no pinned npm file stands in for."""

    def __init__(self, url: str, source: str, where: str = "") -> None:
        self.url, self.source = url, source
        super().__init__(
            f"{source}: {where or 'external reference'} {url!r} has no pinned npm mapping; "
            f"add (package, version, file) for it to ASSETS in tools/asv_offline.py, "
            f"then run `make dashboard-assets`")


class MissingAssetError(OfflineError):
    """A pinned npm package is not in the cache."""


@dataclass(frozen=True)
class Rewrite:
    """One CDN reference replaced by a local copy."""

    source: str
    url: str
    asset: Asset
    integrity_before: str | None
    integrity_after: str | None

    @property
    def identical(self) -> bool:
        """True when the local file matches the CDN's SRI hash (a byte-identical copy)."""
        return bool(self.integrity_before and self.integrity_after
                    and self.integrity_after in self.integrity_before.split())


def is_external(url: str) -> bool:
    """True for URLs with a network location (``https://h/``, ``//h/``), i.e. not local."""
    return bool(_EXTERNAL.match(url))


def _unquote(value: str | None) -> str:
    if value is None:
        return ""
    return value[1:-1] if value[:1] in "\"'" and value[-1:] == value[:1] else value


def _urls(key: str, value: str) -> list[str]:
    if key == "srcset":
        return [part.split()[0] for part in value.split(",") if part.strip()]
    return [value.strip()]


def find_external(html: str) -> list[str]:
    """The non-local URLs that the elements of ``html`` fetch, in order (``<a href>`` is not)."""
    found: list[str] = []
    for tag in _TAG.finditer(html):
        wanted = FETCHED_ATTRS.get(tag["name"].lower(), ())
        for attr in _ATTR.finditer(tag["attrs"]):
            if attr["key"].lower() in wanted:
                found += [u for u in _urls(attr["key"].lower(), _unquote(attr["value"]))
                          if is_external(u)]
    return found


def rewrite_html(html: str, *, source: str = "<html>", prefix: str = "",
                 sri: Callable[[Asset, str | None], str | None] | None = None,
                 ) -> tuple[str, list[Rewrite]]:
    """Point every mapped CDN reference of ``html`` at ``prefix + asset.local``.

    ``sri(asset, old_integrity)`` is called for each replaced URL (so a caller can copy the
    file) and gives the new ``integrity`` value (None drops it); ``crossorigin`` and
    ``referrerpolicy`` are dropped. Raises UnmappedURLError for a non-local fetched URL that
    ``ASSETS`` lacks, for a non-local ``url()``/``@import``, and for a URL literal in an inline
    script.
    """
    rewrites: list[Rewrite] = []

    def tag_sub(tag: re.Match[str]) -> str:
        wanted = FETCHED_ATTRS.get(tag["name"].lower(), ())
        attrs = list(_ATTR.finditer(tag["attrs"]))
        hits: dict[str, Asset] = {}
        for attr in attrs:
            key = attr["key"].lower()
            if key not in wanted:
                continue
            for url in _urls(key, _unquote(attr["value"])):
                if is_external(url):
                    if key == "srcset" or url not in ASSETS:
                        raise UnmappedURLError(url, source, f"<{tag['name']} {key}>")
                    hits[key] = ASSETS[url]
        if not hits:
            return tag.group(0)
        old_integrity = next((_unquote(a["value"]) for a in attrs
                              if a["key"].lower() == "integrity"), None)
        integrities = [sri(asset, old_integrity) if sri else None for asset in hits.values()]
        new_integrity = integrities[0]  # integrity belongs to <script src>/<link href>
        parts: list[str] = []
        for attr in attrs:
            key = attr["key"].lower()
            if key in hits:
                url = _unquote(attr["value"]).strip()
                rewrites.append(Rewrite(source, url, hits[key], old_integrity, new_integrity))
                parts.append(f'{attr["space"]}{attr["key"]}="{prefix}{hits[key].local}"')
            elif key == "integrity":
                if new_integrity:
                    parts.append(f'{attr["space"]}{attr["key"]}="{new_integrity}"')
            elif key not in _DROPPED_ATTRS:
                parts.append(attr.group(0))
        whole, start = tag.group(0), tag.start()
        return (whole[: tag.start("attrs") - start] + "".join(parts)
                + whole[tag.end("attrs") - start:])

    out = _TAG.sub(tag_sub, html)
    check_css(out, source)  # <style> blocks and style="" attributes
    for script in _INLINE_SCRIPT.finditer(out):
        check_js(script["body"], f"{source} (inline <script>)")
    return out, rewrites


def css_urls(css: str) -> list[str]:
    """The URLs of ``url(...)`` and ``@import "..."`` in CSS text."""
    return [(m["url"] if m["url"] is not None else m["url2"]).strip()
            for m in _CSS_URL.finditer(css)]


def check_js(js: str, source: str) -> None:
    """Raise UnmappedURLError for a quoted absolute URL in JavaScript (a possible fetch)."""
    match = _JS_URL.search(js)
    if match:
        raise UnmappedURLError(match["url"], source, "URL literal in JavaScript")


def check_css(css: str, source: str) -> None:
    """Raise UnmappedURLError for a non-local ``url()``/``@import`` in CSS."""
    for url in css_urls(css):
        if is_external(url):
            raise UnmappedURLError(url, source, "CSS url()/@import")


def subresource_integrity(data: bytes, like: str | None = None) -> str:
    """SRI value of ``data`` with the strongest algorithm in ``like`` (default sha384)."""
    algos = [tok.split("-", 1)[0] for tok in (like or "").split()]
    algo = next((a for a in ("sha512", "sha384", "sha256") if a in algos), "sha384")
    return f"{algo}-{base64.b64encode(hashlib.new(algo, data).digest()).decode()}"


# -- npm cache --------------------------------------------------------------------------------

def _cached(dest: Path, package: Package) -> bool:
    try:
        meta = json.loads((dest / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("name") == package.name and meta.get("version") == package.version


def missing_packages(cache: Path, packages: Iterable[Package] = PACKAGES) -> list[Package]:
    """The pinned packages not (completely) in ``cache``."""
    return [p for p in packages if not _cached(Path(cache) / p.spec, p)]


def fetch_packages(cache: Path, *, npm: str = "npm", packages: Iterable[Package] = PACKAGES,
                   log: Callable[[str], None] = print) -> list[Package]:
    """``npm pack`` each missing package into ``cache/<name>@<version>/``; returns those fetched.

    The tarball must match the pinned registry integrity. Idempotent: cached ones are skipped.
    """
    cache = Path(cache)
    todo = missing_packages(cache, packages)
    if not todo:
        return []
    exe = shutil.which(npm)
    if exe is None:
        raise OfflineError(f"{npm!r} not found: npm is needed to fetch "
                           f"{', '.join(p.spec for p in todo)} into {cache}")
    cache.mkdir(parents=True, exist_ok=True)
    for package in todo:
        log(f"npm pack {package.spec} -> {cache / package.spec}")
        with tempfile.TemporaryDirectory(dir=cache.resolve(), prefix=".fetch-") as tmp:
            proc = subprocess.run([exe, "pack", "--pack-destination", tmp, package.spec],
                                  cwd=tmp, capture_output=True, text=True,
                                  timeout=NPM_TIMEOUT_S, check=False)
            tarballs = sorted(Path(tmp).glob("*.tgz"))
            if proc.returncode != 0 or len(tarballs) != 1:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
                raise OfflineError(f"npm pack {package.spec} failed (exit {proc.returncode}): "
                                   + " | ".join(tail))
            data = tarballs[0].read_bytes()
            got = subresource_integrity(data, "sha512")
            if got != package.integrity:
                raise OfflineError(f"{package.spec}: tarball integrity {got} is not the pinned "
                                   f"{package.integrity}")
            unpacked = Path(tmp) / "x"
            with tarfile.open(tarballs[0]) as tar:
                tar.extractall(unpacked, filter="data")
            tops = [p for p in unpacked.iterdir() if p.is_dir()]
            if len(tops) != 1:
                raise OfflineError(f"{package.spec}: expected one top folder in the tarball")
            dest = cache / package.spec
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tops[0], dest)
    return todo


# -- html dir -----------------------------------------------------------------------------------

def _copy_asset(cache: Path, html_dir: Path, package: Package, path: str, source: str) -> Path:
    """Copy ``path`` of ``package`` (and, for CSS, the files it references) into the html dir."""
    src = cache / package.spec / path
    if not _cached(cache / package.spec, package):
        raise MissingAssetError(f"{source}: needs {package.spec} but it is not in {cache}: "
                                f"run `make dashboard-assets`")
    if not src.is_file():
        raise MissingAssetError(f"{source}: {package.spec} has no file {path!r}")
    dest = html_dir / VENDOR_DIR / package.spec / path
    if dest.is_file() and dest.read_bytes() == src.read_bytes():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    if path.endswith(".css"):
        css_source = f"{package.spec}/{path}"
        for url in css_urls(src.read_text(encoding="utf-8")):
            if is_external(url):
                raise UnmappedURLError(url, css_source, "CSS url()/@import")
            ref = re.split(r"[?#]", url, maxsplit=1)[0]
            if not ref or url.startswith("data:") or ref.startswith("/"):
                continue
            dep = posixpath.normpath(posixpath.join(posixpath.dirname(path), ref))
            if dep.startswith("../"):
                raise OfflineError(f"{css_source}: {url!r} points outside the package")
            _copy_asset(cache, html_dir, package, dep, css_source)
    return dest


def vendor_html_dir(html_dir: Path, cache: Path = DEFAULT_CACHE) -> list[Rewrite]:
    """Rewrite every page of a published asv html dir to use local copies from ``cache``.

    Also checks asv's own .js and .css there for non-local references. Raises OfflineError
    (UnmappedURLError, MissingAssetError) naming the file and URL at the first problem.
    """
    html_dir, cache = Path(html_dir), Path(cache)
    if not (html_dir / "index.html").is_file():
        raise OfflineError(f"{html_dir}/index.html not found: run `asv publish` first")
    vendor_root = html_dir / VENDOR_DIR
    rewrites: list[Rewrite] = []
    for page in sorted(html_dir.rglob("*")):
        if vendor_root in page.parents or not page.is_file():
            continue
        rel = page.relative_to(html_dir)
        if page.suffix == ".html":
            prefix = "../" * (len(rel.parts) - 1)

            def sri(asset: Asset, old: str | None, rel: Path = rel) -> str | None:
                local = _copy_asset(cache, html_dir, asset.package, asset.path, str(rel))
                return subresource_integrity(local.read_bytes(), old) if old else None

            text = page.read_text(encoding="utf-8")
            new, done = rewrite_html(text, source=str(rel), prefix=prefix, sri=sri)
            left = find_external(new)
            if left:  # rewrite_html raises first; this guards the guard
                raise UnmappedURLError(left[0], str(rel))
            if new != text:
                page.write_text(new, encoding="utf-8")
            rewrites += done
        elif page.suffix == ".js":
            check_js(page.read_text(encoding="utf-8"), str(rel))
        elif page.suffix == ".css":
            check_css(page.read_text(encoding="utf-8"), str(rel))
    return rewrites


def has_results(results_dir: Path) -> bool:
    """True when ``results_dir`` holds at least one asv result file (not just machine.json)."""
    return any(p.name != "machine.json" for p in Path(results_dir).glob("*/*.json"))


NO_RESULTS_HINT = """no asv results in {results}: record some first, e.g.
  .venv/bin/asv machine --yes                          # once per machine
  .venv/bin/asv run --quick --set-commit-hash=HEAD     # (see README, "Performance tracking")
then run `make dashboard` again."""


def summary(rewrites: Sequence[Rewrite]) -> str:
    """One line per replaced URL, then a count."""
    lines = []
    for r in rewrites:
        how = "identical to the CDN file (SRI)" if r.identical else "substitute"
        note = f" - {r.asset.note}" if r.asset.note and not r.identical else ""
        lines.append(f"  {r.source}: {r.url} -> {r.asset.local} [{how}]{note}")
    same = sum(r.identical for r in rewrites)
    lines.append(f"{len(rewrites)} CDN references made local ({same} byte-identical to the CDN "
                 f"copy, {len(rewrites) - same} substituted)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``fetch``, ``check-results``, ``vendor`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tools.asv_offline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="npm pack the pinned packages into the cache")
    fetch.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    fetch.add_argument("--npm", default="npm")
    results = sub.add_parser("check-results", help="exit 1 with a hint when there are no results")
    results.add_argument("results_dir", type=Path)
    vendor = sub.add_parser("vendor", help="make a published html dir self-contained")
    vendor.add_argument("html_dir", type=Path)
    vendor.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            fetched = fetch_packages(args.cache, npm=args.npm)
            print(f"dashboard assets in {args.cache}: {len(PACKAGES)} pinned npm packages "
                  f"({len(fetched)} fetched, {len(PACKAGES) - len(fetched)} already there)")
        elif args.command == "check-results":
            if not has_results(args.results_dir):
                print(NO_RESULTS_HINT.format(results=args.results_dir), file=sys.stderr)
                return 1
        else:
            print(summary(vendor_html_dir(args.html_dir, args.cache)))
            print(f"self-contained dashboard: {args.html_dir / 'index.html'}")
    except (OfflineError, OSError, subprocess.SubprocessError) as err:
        print(f"asv_offline: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

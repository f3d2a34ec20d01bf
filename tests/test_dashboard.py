"""The offline asv dashboard: tools/asv_offline.py's rewriting, and a published page in Chromium.

The browser tests publish a throwaway asv project (one tiny benchmark file, environment
"existing", a tmp git repo), vendor it from the npm cache that `make dashboard-assets` fills,
serve it on 127.0.0.1 and open it in headless Chromium with every other host unresolvable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import asv
import pytest

from tests.loopback import Loopback
from tools import asv_offline as ao

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ao.DEFAULT_CACHE
ASV_WWW = Path(asv.__file__).resolve().parent / "www"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--window-size=1280,800", "--virtual-time-budget=15000",
)
JQUERY_CDN = "https://code.jquery.com/jquery-3.3.1.min.js"
CSS_CDN = "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} not found (as root, `make test-deps` installs Debian's chromium)")
needs_assets = pytest.mark.skipif(
    bool(ao.missing_packages(CACHE)),
    reason=f"dashboard npm assets not in {ao.DEFAULT_CACHE}: run `make dashboard-assets`")


# -- rewriting --------------------------------------------------------------------------------

PAGE = f"""<html><head>
<script src="{JQUERY_CDN}" integrity="sha256-old" crossorigin="anonymous" onerror="f()"></script>
<link rel="stylesheet" href='{CSS_CDN}' crossorigin="anonymous" referrerpolicy="no-referrer"/>
<script src="asv.js"></script>
</head><body><a href="https://github.com/airspeed-velocity/asv/">asv</a></body></html>"""


def test_rewrite_points_cdn_links_at_vendor_copies():
    new, rewrites = ao.rewrite_html(PAGE, sri=lambda asset, old: "sha384-new" if old else None)
    jquery, css = ao.ASSETS[JQUERY_CDN], ao.ASSETS[CSS_CDN]
    assert jquery.local == "vendor/jquery@3.3.1/dist/jquery.min.js"
    assert f'<script src="{jquery.local}" integrity="sha384-new" onerror="f()"></script>' in new
    assert f'<link rel="stylesheet" href="{css.local}"/>' in new
    assert [(r.url, r.asset) for r in rewrites] == [(JQUERY_CDN, jquery), (CSS_CDN, css)]
    assert ao.find_external(new) == []
    assert "crossorigin" not in new and "referrerpolicy" not in new
    assert '<script src="asv.js"></script>' in new                  # local: untouched
    assert 'href="https://github.com/airspeed-velocity/asv/"' in new  # a link, not a fetch


def test_rewrite_prefixes_pages_in_subfolders():
    new, _ = ao.rewrite_html(PAGE, prefix="../../")
    assert 'src="../../vendor/jquery@3.3.1/dist/jquery.min.js"' in new
    assert "integrity" not in new  # no sri callback: no stale hash left behind


@pytest.mark.parametrize("ref", [
    '<script src="https://cdn.example.org/lib@9/lib.min.js"></script>',
    '<link rel="stylesheet" href="//fonts.example.org/css?family=X">',
    '<img srcset="https://img.example.org/a.png 2x">',
    "<style>@import 'https://cdn.example.org/x.css';</style>",
    '<div style="background: url(https://img.example.org/bg.png)"></div>',
    '<script>$.getScript("https://cdn.example.org/more.js");</script>',
])
def test_unmapped_external_reference_names_file_and_url(ref: str):
    url = re.search(r"(?:https:)?//[\w.]+example\.org[^\"' )]*", ref)[0]
    with pytest.raises(ao.UnmappedURLError) as err:
        ao.rewrite_html(f"<html>{ref}</html>", source="graphs/page.html")
    assert err.value.url == url
    assert "graphs/page.html" in str(err.value) and url in str(err.value)
    assert "ASSETS in tools/asv_offline.py" in str(err.value)


def test_css_and_js_checks():
    ao.check_css("a{background:url(../img/x.png)} b{background:url('data:image/png;base64,AA')}",
                 "local.css")
    ao.check_js("var u = '#' + name; // see https://example.org/docs", "local.js")
    with pytest.raises(ao.UnmappedURLError, match="theme.css.*https://cdn.example.org/f.woff"):
        ao.check_css("@font-face{src:url(https://cdn.example.org/f.woff)}", "theme.css")
    with pytest.raises(ao.UnmappedURLError, match="app.js.*//cdn.example.org/x.js"):
        ao.check_js("load('//cdn.example.org/x.js')", "app.js")


def test_mapping_matches_the_installed_asv():
    """Every CDN URL of asv's pages is mapped, and every mapping is still used (asv upgrades)."""
    index = (ASV_WWW / "index.html").read_text(encoding="utf-8")
    assert set(ao.find_external(index)) == set(ao.ASSETS)
    for page in ASV_WWW.glob("*.html"):
        new, _ = ao.rewrite_html(page.read_text(encoding="utf-8"), source=page.name)
        assert ao.find_external(new) == []
    for script in ASV_WWW.glob("*.js"):
        ao.check_js(script.read_text(encoding="utf-8"), script.name)
    for sheet in ASV_WWW.glob("*.css"):
        ao.check_css(sheet.read_text(encoding="utf-8"), sheet.name)


def test_subresource_integrity():
    assert ao.subresource_integrity(b"abc", "sha256-x") == \
        "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    assert ao.subresource_integrity(b"abc").startswith("sha384-")
    assert ao.subresource_integrity(b"abc", "sha256-x sha512-y").startswith("sha512-")


def _fake_cache(root: Path) -> Path:
    """A cache of stand-in packages: right package.json, tiny files, a CSS font reference."""
    for package in ao.PACKAGES:
        folder = root / package.spec
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(
            json.dumps({"name": package.name, "version": package.version}), encoding="utf-8")
    for asset in ao.ASSETS.values():
        path = root / asset.package.spec / asset.path
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "a{src:url(../fonts/g.woff?#iefix)}" if path.suffix == ".css" else "//js"
        path.write_text(f"/* {asset.path} */{body}", encoding="utf-8")
    (root / ao.BOOTSTRAP.spec / "dist/fonts").mkdir()
    (root / ao.BOOTSTRAP.spec / "dist/fonts/g.woff").write_bytes(b"font")
    return root


def test_vendor_html_dir_copies_assets_and_rewrites(tmp_path: Path):
    html = tmp_path / "html"
    shutil.copytree(ASV_WWW, html)
    cache = _fake_cache(tmp_path / "cache")
    assert ao.missing_packages(cache) == []
    assert ao.fetch_packages(cache, npm="no-such-npm") == []  # all cached: npm not even looked up
    rewrites = ao.vendor_html_dir(html, cache)
    assert {r.url for r in rewrites} == set(ao.ASSETS)
    assert not any(r.identical for r in rewrites)  # stand-ins do not match the CDN hashes
    index = (html / "index.html").read_text(encoding="utf-8")
    assert ao.find_external(index) == []
    for r in rewrites:  # copied, and the integrity attribute is the copy's hash
        local = (html / r.asset.local).read_bytes()
        assert local == (cache / r.asset.package.spec / r.asset.path).read_bytes()
        assert r.integrity_after == ao.subresource_integrity(local, r.integrity_before)
        assert f'integrity="{r.integrity_after}"' in index
    assert (html / ao.VENDOR_DIR / ao.BOOTSTRAP.spec / "dist/fonts/g.woff").read_bytes() == b"font"
    assert ao.vendor_html_dir(html, cache) == []  # idempotent: nothing external left
    assert "1 CDN references" in ao.summary(rewrites[:1])


def test_vendor_html_dir_without_cache_names_the_make_target(tmp_path: Path):
    html = tmp_path / "html"
    shutil.copytree(ASV_WWW, html)
    with pytest.raises(ao.MissingAssetError, match=r"index\.html.*make dashboard-assets"):
        ao.vendor_html_dir(html, tmp_path / "empty")
    with pytest.raises(ao.OfflineError, match="'no-such-npm' not found"):
        ao.fetch_packages(tmp_path / "empty", npm="no-such-npm")
    assert ao.main(["vendor", str(tmp_path / "nothing-published")]) == 2


def test_check_results_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    results = tmp_path / "results"
    (results / "box").mkdir(parents=True)
    (results / "box" / "machine.json").write_text("{}", encoding="utf-8")
    assert not ao.has_results(results)
    assert ao.main(["check-results", str(results)]) == 1
    err = capsys.readouterr().err
    assert "asv machine --yes" in err and "asv run --quick --set-commit-hash=HEAD" in err
    (results / "box" / "abc123-existing-py.json").write_text("{}", encoding="utf-8")
    assert ao.has_results(results)
    assert ao.main(["check-results", str(results)]) == 0


# -- a published dashboard in Chromium ------------------------------------------------------------

BENCHMARKS = '''
def time_sum():
    sum(range(100))


def track_answer():
    return 42
'''


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``asv publish`` of a one-commit throwaway project: its (un-rewritten) html dir."""
    project = tmp_path_factory.mktemp("asvproject")
    (project / "benchmarks").mkdir()
    (project / "benchmarks" / "__init__.py").write_text("", encoding="utf-8")
    (project / "benchmarks" / "bench.py").write_text(BENCHMARKS, encoding="utf-8")
    (project / "asv.conf.json").write_text(json.dumps({
        "version": 1, "project": "tiny", "project_url": "#", "repo": ".", "dvcs": "git",
        "branches": ["main"], "environment_type": "existing", "benchmark_dir": "benchmarks",
        "env_dir": ".asv/env", "results_dir": ".asv/results", "html_dir": ".asv/html",
        "show_commit_url": "#"}), encoding="utf-8")
    (project / ".gitignore").write_text(".asv/\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASV", "GIT_"))}
    env["HOME"] = str(project)  # asv machine writes ~/.asv-machine.json
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    _run([*git, "init", "-q", "-b", "main"], project, env)
    _run([*git, "add", "-A"], project, env)
    _run([*git, "commit", "-q", "-m", "tiny"], project, env)
    asv_cmd = [sys.executable, "-m", "asv"]
    _run([*asv_cmd, "machine", "--yes", "--machine", "testbox"], project, env)
    _run([*asv_cmd, "run", "--quick", "--set-commit-hash=HEAD", "--machine", "testbox"],
         project, env)
    _run([*asv_cmd, "publish"], project, env)
    assert ao.has_results(project / ".asv" / "results")
    return project / ".asv" / "html"


@pytest.fixture
def site() -> Iterator[Loopback]:
    """tests.loopback's server, URL-decoding paths and ignoring query strings (``?_=...``)."""
    loopback = Loopback()
    base = loopback.httpd.RequestHandlerClass

    class Handler(base):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            self.path = unquote(self.path.split("?", 1)[0])
            super().do_GET()

    loopback.httpd.RequestHandlerClass = Handler
    loopback.httpd.handle_error = lambda request, address: None  # aborted loads: no tracebacks
    loopback.thread.start()
    yield loopback
    loopback.httpd.shutdown()
    loopback.httpd.server_close()
    loopback.thread.join()


def _serve(site: Loopback, html_dir: Path) -> None:
    for path in html_dir.rglob("*"):
        if path.is_file():
            site.files["/" + path.relative_to(html_dir).as_posix()] = path.read_bytes()


def _dump_dom(url: str, profile: Path) -> str:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           "--dump-dom", url], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _main_graph(dom: str) -> str:
    start = dom.find('id="main-graph"')
    assert start >= 0, dom[:2000]
    return dom[start:]


@needs_chromium
@needs_assets
def test_vendored_dashboard_renders_a_graph_offline(published: Path, site: Loopback,
                                                    tmp_path: Path):
    html = tmp_path / "html"
    shutil.copytree(published, html)
    rewrites = ao.vendor_html_dir(html, CACHE)
    assert {r.url for r in rewrites} == set(ao.ASSETS)
    assert sum(r.identical for r in rewrites) >= 5  # jquery, bootstrap x2, md5, orderBars
    _serve(site, html)
    dom = _dump_dom(f"{site.url}/index.html#bench.track_answer", tmp_path / "profile")
    assert "Can not determine continental origin of swallow" not in dom  # not error.html
    graph = _main_graph(dom)
    assert '<canvas class="flot-base"' in graph and '<canvas class="flot-overlay"' in graph
    ticks = [float(t) for t in re.findall(r'class="flot-tick-label[^"]*"[^>]*>([\d.]+)<', graph)]
    assert ticks and max(ticks) >= 40  # the y axis spans the tracked value, 42
    error_modal = re.search(r'<div[^>]*id="error"[^>]*>', dom)[0]
    assert 'aria-hidden="true"' in error_modal and "display: block" not in error_modal
    for asset in ao.ASSETS.values():
        assert site.requests[f"/{asset.local}"] >= 1, asset.local
    assert any(p.startswith("/graphs/branch-main/") and p.endswith("/bench.track_answer.json")
               for p in site.requests)
    # the benchmark list: sorted by stupidtable (the npm substitute), asv's sort hook ran
    dom = _dump_dom(f"{site.url}/index.html#/summarylist", tmp_path / "profile2")
    header = re.search(r'<th data-sort="string" class="([^"]*)">Benchmark', dom)
    assert header and "asc" in header[1].split(), dom[-3000:]
    assert dom.index(">bench.time_sum<") < dom.index(">bench.track_answer<")


@needs_chromium
def test_cdn_dashboard_does_not_render_offline(published: Path, site: Loopback,
                                               tmp_path: Path):
    """What the rewrite fixes: offline, asv's own page falls back to error.html."""
    _serve(site, published)
    dom = _dump_dom(f"{site.url}/index.html#bench.track_answer", tmp_path / "profile")
    assert "Can not determine continental origin of swallow" in dom
    assert "flot-base" not in dom
    assert site.requests["/error.html"] >= 1

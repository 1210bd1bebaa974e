"""The kvmsim kernel in front ends: highlighting of kvmsim code (the Pygments lexer nbconvert uses,
the CodeMirror mode of the classic Notebook) and a real browser, Debian's headless Chromium driven
by playwright-core (browser/drive.js), through the classic Notebook (run all, read back tables and
charts, interrupt from the toolbar) and through nbconvert's published HTML. Screenshots are written
to target/browser/. Run by run-protocol-tests.sh, which installs the kernelspec into a temporary
prefix, points JUPYTER_PATH at it and PYTHONPATH at its copy of the Pygments plugin."""

import base64
import html.parser
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from jupyter_client.manager import start_new_kernel

KERNEL = os.environ.get("KVMSIM_KERNEL_NAME", "kvmsim")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TMP = os.environ.get("KVMSIM_TEST_TMP") or tempfile.mkdtemp(prefix="kvmsim-front-")
SCREENSHOTS = os.path.join(ROOT, "target", "browser")
DRIVER = os.path.join(HERE, "browser", "drive.js")
CHROMIUM = "/usr/bin/chromium"
# The notebook the browser test runs (its committed outputs are what the browser must show again).
BROWSER_NOTEBOOK = "your-own-guests.ipynb"
# A `run` of tens of seconds to hours: ksmd scans 100 pages every simulated millisecond of two VMs
# of 200 000 unique pages (test_kvmsim_kernel.py's LongRunTests use the same set-up).
LONG_RUN = """reset
ksm policy p { pages_to_scan = 100; sleep = 1 ms }
host hv1 { memory = 8 GiB; ksm = p; thp = never }
vm g1 on hv1 { memory = 1 GiB }
vm g2 like g1
contents g1 { pages 0 .. 199999 = unique }
contents g2 { pages 0 .. 199999 = unique }
run 1 h"""
SAMPLE = """# two guests
ksm policy tuned { pages_to_scan = 1_000; sleep = 20 ms }
host hv1 { memory = 32 GiB; thp = never; ksm = tuned }
image deb { footprint = 400 MiB; shared = 70% }
vm g1 on hv1 { memory = 2 GiB; paging = ept; image = deb }
set hv1.ksm.pages_to_scan = 4000
show translate g1 0x7f00_0000_1000
print "done"
"""


def need(ok, why):
    """Skips a test whose tools are missing on a developer's machine; under CI it fails instead."""
    if not ok:
        if os.environ.get("CI"):
            raise AssertionError(why + " (.ci/run installs it)")
        raise unittest.SkipTest(why)


def need_browser():
    need(os.path.exists(CHROMIUM), "Debian's chromium is not installed")
    need(shutil.which("node") is not None, "node is not installed")
    need(os.path.isdir(os.path.join(HERE, "browser", "node_modules", "playwright-core")),
         "playwright-core is not installed (npm ci in src/test/jupyter/browser)")


def drive(mode, args, timeout):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    args = dict(args, out=SCREENSHOTS)
    done = subprocess.run(["node", DRIVER, mode, json.dumps(args)], capture_output=True, text=True, timeout=timeout,
                          cwd=os.path.dirname(DRIVER))
    if done.returncode != 0:
        raise AssertionError("browser/drive.js %s failed:\n%s" % (mode, done.stderr[-4000:]))
    return json.loads(done.stdout)


class _Tables(html.parser.HTMLParser):
    """The kvmsim tables of an HTML text, as drive.js reads them from the DOM."""

    def __init__(self):
        super().__init__()
        self.tables, self.cell, self.where = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "kvmsim" in (attrs.get("class") or "").split():
            self.tables.append({"caption": None, "columns": [], "rows": []})
        elif not self.tables:
            return
        elif tag in ("caption", "th", "td"):
            self.cell = ""
        elif tag == "tr" and self.where == "tbody":
            self.tables[-1]["rows"].append([])
        if tag in ("thead", "tbody"):
            self.where = tag

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if not self.tables or self.cell is None or tag not in ("caption", "th", "td"):
            return
        t = self.tables[-1]
        if tag == "caption":
            t["caption"] = self.cell
        elif tag == "th" and self.where == "thead":
            t["columns"].append(self.cell)
        elif tag == "td":
            t["rows"][-1].append(self.cell)
        self.cell = None


def committed(nb_path):
    """What a notebook's committed outputs show: its kvmsim tables and the size of each PNG chart."""
    with open(nb_path) as f:
        nb = json.load(f)
    tables, images = [], []
    for c in nb["cells"]:
        for o in c.get("outputs", []) if c["cell_type"] == "code" else []:
            data = o.get("data", {})
            if "image/png" in data:
                png = base64.b64decode("".join(data["image/png"]))
                images.append(list(struct.unpack(">II", png[16:24])))  # IHDR width, height
            elif "text/html" in data:
                p = _Tables()
                p.feed("".join(data["text/html"]))
                tables.extend(p.tables)
    return nb, tables, images


class LanguageInfoTests(unittest.TestCase):
    def test_kernel_info_names_the_lexer_and_the_mode(self):
        km, kc = start_new_kernel(kernel_name=KERNEL)
        try:
            kc.kernel_info()
            li = kc.get_shell_msg(timeout=30)["content"]["language_info"]
        finally:
            kc.stop_channels()
            km.shutdown_kernel()
        self.assertEqual(li["name"], "kvmsim")
        self.assertEqual(li["file_extension"], ".kvm")
        self.assertEqual(li["mimetype"], "text/x-kvmsim")
        self.assertEqual(li["pygments_lexer"], "kvmsim")
        self.assertEqual(li["codemirror_mode"], "kvmsim")

    def test_published_notebooks_carry_the_same_language_info(self):
        for name in sorted(os.listdir(os.path.join(ROOT, "notebooks"))):
            if name.endswith(".ipynb"):
                nb, _, _ = committed(os.path.join(ROOT, "notebooks", name))
                li = nb["metadata"]["language_info"]
                self.assertEqual((li.get("pygments_lexer"), li.get("codemirror_mode")), ("kvmsim", "kvmsim"), name)


class PygmentsTests(unittest.TestCase):
    """The lexer nbconvert's /usr/bin/python3 finds after `kvmsim kernel install`."""

    def tokens(self, code):
        from pygments.lexers import get_lexer_by_name  # PYTHONPATH names the kernelspec's copy
        return [(str(t), v) for t, v in get_lexer_by_name("kvmsim").get_tokens(code) if v.strip()]

    def test_found_by_name_and_by_file_name(self):
        from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
        self.assertEqual(get_lexer_by_name("kvmsim").name, "kvmsim")
        self.assertEqual(get_lexer_for_filename("lab.kvm").name, "kvmsim")

    def test_every_kind_of_word_gets_its_token(self):
        got = self.tokens(SAMPLE)
        for token in [("Token.Comment.Single", "# two guests"), ("Token.Keyword.Declaration", "ksm"),
                      ("Token.Keyword.Declaration", "policy"), ("Token.Name.Class", "tuned"),
                      ("Token.Name.Attribute", "pages_to_scan"), ("Token.Operator", "="),
                      ("Token.Literal.Number.Integer", "1_000"), ("Token.Literal.Number", "20"),
                      ("Token.Keyword.Type", "ms"), ("Token.Keyword.Type", "GiB"), ("Token.Keyword.Type", "%"),
                      ("Token.Name.Constant", "never"), ("Token.Name.Constant", "ept"), ("Token.Keyword", "on"),
                      ("Token.Name", "hv1"), ("Token.Keyword", "set"), ("Token.Keyword", "show"),
                      ("Token.Name.Builtin", "translate"), ("Token.Literal.Number.Hex", "0x7f00_0000_1000"),
                      ("Token.Keyword", "print"), ("Token.Literal.String.Double", "done"), ("Token.Punctuation", "{")]:
            self.assertIn(token, got)
        self.assertNotIn("Token.Error", [t for t, _ in got])

    def test_shipped_examples_lex_without_errors(self):
        from pygments.lexers import get_lexer_by_name
        lexer = get_lexer_by_name("kvmsim")
        dirs = [os.path.join(ROOT, "notebooks", "examples"), os.path.join(ROOT, "..", "shared", "examples")]
        files = [os.path.join(d, f) for d in dirs if os.path.isdir(d) for f in sorted(os.listdir(d)) if f.endswith(".kvm")]
        self.assertTrue(files)
        for f in files:
            with open(f) as src:
                bad = [v for t, v in lexer.get_tokens(src.read()) if str(t) == "Token.Error"]
            self.assertEqual(bad, [], f)

    def install(self, *args, env=None):
        e = dict(os.environ)
        e.pop("PYTHONPATH", None)
        e.update(env or {})
        return subprocess.run([os.path.join(ROOT, "kvmsim"), "kernel", "install", *args], env=e, check=True,
                              capture_output=True, text=True, timeout=120)

    def found_by(self, python, env):
        e = dict(os.environ)
        e.pop("PYTHONPATH", None)
        e.update(env)
        return subprocess.run([python, "-c", "from pygments.lexers import get_lexer_by_name as g; print(g('kvmsim').name)"],
                              env=e, capture_output=True, text=True, timeout=60).stdout.strip()

    def test_user_install_goes_to_the_user_site_packages_of_jupyters_python(self):
        base = tempfile.mkdtemp(dir=TMP)
        env = {"PYTHONUSERBASE": os.path.join(base, "userbase"), "JUPYTER_DATA_DIR": os.path.join(base, "data")}
        self.assertEqual(self.found_by("/usr/bin/python3", env), "", "not found before the install")
        out = self.install("--user", env=env).stdout
        self.assertIn("installed Pygments lexer 'kvmsim' in " + os.path.join(base, "userbase", "lib"), out)
        self.assertEqual(self.found_by("/usr/bin/python3", env), "kvmsim")
        # and again: the second install replaces the first, one distribution stays (importlib.metadata
        # is where Pygments looks)
        self.install("--user", env=env)
        code = ("import importlib.metadata as m; print(sum(1 for d in m.distributions() "
                "if d.metadata['Name'] == 'kvmsim-pygments'))")
        e = dict(os.environ, **env)
        e.pop("PYTHONPATH", None)
        self.assertEqual(subprocess.run(["/usr/bin/python3", "-c", code], env=e, capture_output=True, text=True).stdout.strip(), "1")

    def test_sys_prefix_install_goes_to_the_environments_site_packages(self):
        venv = os.path.join(tempfile.mkdtemp(dir=TMP), "venv")
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", "--system-site-packages", venv], check=True)
        env = {"VIRTUAL_ENV": venv}
        out = self.install("--sys-prefix", env=env).stdout
        self.assertIn("installed Pygments lexer 'kvmsim' in " + venv, out)
        self.assertTrue(os.path.exists(os.path.join(venv, "share", "jupyter", "kernels", "kvmsim", "kernel.js")))
        self.assertEqual(self.found_by(os.path.join(venv, "bin", "python"), {}), "kvmsim")
        self.assertEqual(self.found_by("/usr/bin/python3", {}), "", "outside the environment nothing changed")

    def test_prefix_install_says_what_pythonpath_to_set(self):
        prefix = os.path.join(tempfile.mkdtemp(dir=TMP), "prefix")
        out = self.install("--prefix", prefix).stdout
        copy = os.path.join(prefix, "share", "jupyter", "kernels", "kvmsim", "pygments")
        self.assertIn("PYTHONPATH=" + copy, out)
        self.assertEqual(self.found_by("/usr/bin/python3", {"PYTHONPATH": copy}), "kvmsim")


class PublishedPagesTests(unittest.TestCase):
    """nbconvert's HTML of every notebook: its kvmsim code highlighted, seen in Chromium."""

    def test_published_pages_are_highlighted_and_show_their_tables_and_charts(self):
        pages_dir = tempfile.mkdtemp(dir=TMP, prefix="pages-")
        names = sorted(n for n in os.listdir(os.path.join(ROOT, "notebooks")) if n.endswith(".ipynb"))
        expected = {}
        for n in names:
            src = os.path.join(ROOT, "notebooks", n)
            subprocess.run(["/usr/bin/jupyter", "nbconvert", "--to", "html", "--output-dir", pages_dir, src], check=True,
                           capture_output=True, timeout=300)
            nb, tables, images = committed(src)
            code_cells = sum(1 for c in nb["cells"] if c["cell_type"] == "code")
            with open(os.path.join(pages_dir, n[:-len(".ipynb")] + ".html")) as f:
                page = f.read()
            # every code cell through the kvmsim lexer (nbconvert: <div class="highlight hl-LANG">)
            self.assertEqual(page.count('highlight hl-kvmsim"'), code_cells, n)
            self.assertIn('<span class="kd">', page, n)
            expected[n[:-len(".ipynb")]] = (tables, images)
        need_browser()
        seen = drive("pages", {"pages": [os.path.join(pages_dir, n[:-len(".ipynb")] + ".html") for n in names]}, timeout=600)
        for name, (tables, images) in sorted(expected.items()):
            got = seen[name]
            self.assertEqual(got["errors"], [], name)
            self.assertEqual(got["network"], [], name + ": the page loads nothing from the network")
            self.assertEqual(got["tables"], tables, name + ": the tables the page shows")
            self.assertEqual(got["images"], images, name + ": every chart loads, at its size")
            self.assertTrue({"kd", "k", "o", "p"} <= set(got["highlighted"]), "%s: %s" % (name, sorted(got["highlighted"])))
            self.assertNotEqual(got["keywordColor"], got["textColor"], name + ": keywords are drawn in a colour of their own")
            self.assertTrue(os.path.getsize(os.path.join(SCREENSHOTS, "published-" + name + ".png")) > 0)


class ClassicNotebookTests(unittest.TestCase):
    """Debian's classic Notebook (6.4) with the installed kernel, in headless Chromium."""

    @classmethod
    def setUpClass(cls):
        need_browser()
        need(os.path.exists("/usr/bin/jupyter-notebook"), "Debian's jupyter-notebook is not installed")
        # a copy of notebooks/ (the notebook is changed by running it) beside the traces it may read
        cls.root = tempfile.mkdtemp(dir=TMP, prefix="notebook-server-")
        shutil.copytree(os.path.join(ROOT, "notebooks"), os.path.join(cls.root, "notebooks"))
        os.symlink(os.path.join(ROOT, "traces"), os.path.join(cls.root, "traces"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            cls.port = s.getsockname()[1]
        cls.token = secrets.token_hex(24)
        cls.url = "http://127.0.0.1:%d" % cls.port
        env = dict(os.environ)
        for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_DATA_DIR", "data")):
            env[var] = os.path.join(cls.root, sub)
        cls.log = open(os.path.join(cls.root, "server.log"), "w")
        cls.server = subprocess.Popen(
            ["/usr/bin/jupyter-notebook", "--no-browser", "--allow-root", "--ip=127.0.0.1", "--port=%d" % cls.port,
             "--NotebookApp.port_retries=0", "--NotebookApp.token=" + cls.token,
             "--NotebookApp.notebook_dir=" + os.path.join(cls.root, "notebooks"),
             "--MappingKernelManager.default_kernel_name=" + KERNEL],
            env=env, stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(cls.url + "/api/status?token=" + cls.token, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if cls.server.poll() is not None or time.time() > deadline:
                cls.tearDownClass()
                raise AssertionError("the notebook server did not start: see " + cls.log.name)
            time.sleep(0.25)

    @classmethod
    def tearDownClass(cls):
        # SIGTERM: the server shuts its kernels down and exits
        if cls.server.poll() is None:
            cls.server.terminate()
            try:
                cls.server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                cls.server.kill()
                cls.server.wait()
        cls.log.close()

    def test_run_all_shows_the_committed_outputs_highlighted_and_interrupt_stops_a_run(self):
        nb, tables, images = committed(os.path.join(ROOT, "notebooks", BROWSER_NOTEBOOK))
        self.assertTrue(tables and images, BROWSER_NOTEBOOK + " is published with tables and a chart")
        got = drive("notebook", {"url": self.url, "token": self.token, "notebook": BROWSER_NOTEBOOK,
                                 "longRun": LONG_RUN, "after": "show ksm on hv1"}, timeout=1200)
        code_cells = sum(1 for c in nb["cells"] if c["cell_type"] == "code")
        # kernel.js's mode on every code cell, its tokens in the DOM
        self.assertEqual(got["modes"], ["kvmsim"] * code_cells)
        tokens = got["tokens"]
        for style, word in [("cm-comment", None), ("cm-keyword", "host"), ("cm-keyword", "import"), ("cm-keyword", "on"),
                            ("cm-def", "hv1"), ("cm-def", "hp2m"), ("cm-property", "memory"), ("cm-number", "32"),
                            ("cm-unit", "GiB"), ("cm-unit", "ms"), ("cm-unit", "%"), ("cm-string", '"examples/libvirt/web.xml"'),
                            ("cm-builtin", "vms"), ("cm-atom", "bar"), ("cm-operator", "=")]:
            self.assertIn(style, tokens, sorted(tokens))
            if word:
                self.assertIn(word, tokens[style], style)
        # Run All after clearing: the tables and charts it published, rendered again
        self.assertEqual(got["clearedImages"], 0)
        self.assertEqual(got["errors"], [])
        self.assertEqual(got["run"]["tables"], tables)
        self.assertEqual(got["run"]["images"], images)
        # the toolbar's interrupt button stops the run; the kernel goes on
        i = got["interrupt"]
        self.assertTrue(i["runningWhenPressed"], i)
        self.assertEqual(i["ename"], ["Interrupted"])
        self.assertIn("interrupted: at ", i["error"])
        # the run's progress display goes when the run stops (clear_output, then the cell's other
        # outputs again: a saved notebook never holds it); the error says where it stopped
        self.assertNotIn("run: ", i["output"])
        self.assertEqual(got["after"], {"tables": 1, "errors": []})
        print("classic Notebook: interrupt button -> cell stopped in %.2f s" % i["stoppedAfterSeconds"], file=sys.stderr)
        # the Notebook first asks RequireJS for codemirror/mode/kvmsim/kvmsim.js (a 404: the mode comes
        # from kernel.js, loaded next); nothing else of ours may fail
        print("classic Notebook: console errors: %s" % got["console"], file=sys.stderr)
        self.assertFalse([e for e in got["console"] if "kernel.js" in e or "kernelspecs" in e], got["console"])
        for shot in ("notebook-run-all.png", "notebook-interrupted.png", "notebook-after-interrupt.png"):
            self.assertTrue(os.path.getsize(os.path.join(SCREENSHOTS, shot)) > 0, shot)

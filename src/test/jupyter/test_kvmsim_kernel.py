"""Protocol tests of the kvmsim kernel against the real Jupyter stack (jupyter_client,
jupyter_kernel_test, nbclient via nbconvert). Run by run-protocol-tests.sh, which installs the
kernelspec into a temporary prefix and points JUPYTER_PATH at it."""

import json
import os
import queue
import subprocess
import sys
import time
import unittest
import uuid

import jupyter_kernel_test
import zmq
from jupyter_client.manager import start_new_kernel
from jupyter_client.session import Session

KERNEL = os.environ.get("KVMSIM_KERNEL_NAME", "kvmsim")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


class KvmsimKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = KERNEL
    language_name = "kvmsim"
    file_extension = ".kvm"

    code_hello_world = 'print "hello, world"'
    code_generate_error = "host a { memory = 1 GiB }\nhost b { memroy = 2 GiB }"
    code_display_data = [
        {"code": "host h { memory = 1 GiB }\nvm v on h { memory = 512 MiB }\nshow vms", "mime": "text/html"},
        {"code": "host h { memory = 1 GiB }\nvm v on h { memory = 512 MiB }\nshow vms", "mime": "text/plain"},
    ]
    completion_samples = [
        {"text": "host h {\n  memo", "matches": {"memory"}},
        {"text": "show meminf", "matches": {"meminfo"}},
        {"text": "host h { memory = 512 Mi", "matches": {"MiB"}},
    ]
    complete_code_samples = ['print "x"', "host h { memory = 1 GiB }", "show vms", ""]
    incomplete_code_samples = ["host h {", "host h {\n  memory = 1 GiB", "vm v on h {\n"]
    invalid_code_samples = ["host a }", 'print "unterminated']
    code_inspect_sample = "pages_to_scan"

    def test_kernel_info_status_and_language(self):
        self.flush_channels()
        msg_id = self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=15)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        c = reply["content"]
        self.assertEqual(c["status"], "ok")
        li = c["language_info"]
        self.assertEqual((li["name"], li["file_extension"], li["mimetype"]), ("kvmsim", ".kvm", "text/x-kvmsim"))
        self.assertTrue(li["version"])
        self.assertIn("kvmsim", c["banner"])
        self.assertTrue(c["help_links"])

    def run_cell(self, code, timeout=15):
        self.flush_channels()
        reply, outputs = self.execute_helper(code, timeout=timeout)
        return reply["content"], outputs

    def test_error_is_the_diagnostic_without_java_frames(self):
        reply, outputs = self.run_cell("host b { memroy = 2 GiB }")
        self.assertEqual(reply["status"], "error")
        tb = "\n".join(outputs[0]["content"]["traceback"])
        self.assertIn("In[", tb)
        self.assertIn(":1:10: error:", tb)
        self.assertIn("^", tb)
        self.assertNotIn("at org.", tb)
        self.assertNotIn("Exception", tb)
        # The session stays usable.
        reply, outputs = self.run_cell('print "still here"')
        self.assertEqual(reply["status"], "ok")
        self.assertIn("still here", outputs[0]["content"]["text"])

    def test_declarations_persist_and_queries_publish_in_order(self):
        self.run_cell("reset\nhost h { memory = 4 GiB }")
        self.run_cell("vm a on h { memory = 1 GiB }\nvm b on h { memory = 1 GiB }")
        reply, outputs = self.run_cell('print "first"\nshow vms\nprint "last"')
        self.assertEqual(reply["status"], "ok")
        kinds = [m["msg_type"] for m in outputs]
        self.assertEqual(kinds, ["stream", "display_data", "stream"])
        self.assertIn("<table", outputs[1]["content"]["data"]["text/html"])
        self.assertIn("a", outputs[1]["content"]["data"]["text/plain"])

    def test_plot_publishes_png_and_svg(self):
        reply, outputs = self.run_cell("reset\nhost h { memory = 4 GiB }\nvm a on h { memory = 1 GiB }\n"
                                       "vm b on h { memory = 2 GiB }\nshow vms\nplot vms { x = name; y = memory_bytes; kind = bar }")
        if reply["status"] != "ok":
            self.fail(reply)
        charts = [m for m in outputs if m["msg_type"] == "display_data" and "image/png" in m["content"]["data"]]
        self.assertEqual(len(charts), 1)
        self.assertIn("image/svg+xml", charts[0]["content"]["data"])

    def test_history(self):
        self.run_cell('print "for history"')
        self.flush_channels()
        msg_id = self.kc.history(hist_access_type="tail", n=5, output=False, raw=True)
        reply = self.get_non_kernel_info_reply(timeout=15)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertIn('print "for history"', [h[2] for h in reply["content"]["history"]])

    def test_inspect_declared_name_and_knob(self):
        self.run_cell("reset\nhost h1 { memory = 2 GiB }")
        self.flush_channels()
        self.kc.inspect("vm v on h1", cursor_pos=9)
        reply = self.get_non_kernel_info_reply(timeout=15)
        self.assertIn("2 GiB", reply["content"]["data"]["text/plain"])
        self.kc.inspect("ksm policy p {\n  pages_to_scan = 100 }", cursor_pos=20)
        reply = self.get_non_kernel_info_reply(timeout=15)
        self.assertIn("/sys/kernel/mm/ksm/pages_to_scan", reply["content"]["data"]["text/plain"])


def long_cell(lines):
    return "reset\nhost h { memory = 1 GiB }\nvm v on h { memory = 512 MiB }\n" + "show vms\n" * lines


class InterruptTests(unittest.TestCase):
    """An interrupt_request (interrupt_mode message) stops a running cell; the session stays usable."""

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name=KERNEL)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel()

    def test_interrupt_and_recovery(self):
        kc = self.kc
        msg_id = kc.execute(long_cell(20000))
        # Wait until the cell is producing output, so the interrupt lands while statements run.
        deadline = time.time() + 30
        while time.time() < deadline:
            msg = kc.get_iopub_msg(timeout=30)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "display_data":
                break
        else:
            self.fail("the long cell produced no output")
        sent = time.time()
        self.km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=30)
        stopped = time.time() - sent
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "Interrupted")
        self.assertLess(stopped, 1.0, "the cell stopped %.2f s after the interrupt" % stopped)
        tb = "\n".join(reply["content"]["traceback"])
        self.assertIn("interrupted", tb)
        self.assertRegex(tb, r"before line \d+")
        # Recovery: the same session runs the next cell and still knows what was declared.
        reply = kc.execute_interactive('print "after interrupt"\nshow vms', timeout=30)
        self.assertEqual(reply["content"]["status"], "ok")


class SecurityTests(unittest.TestCase):
    """Messages whose HMAC does not verify are dropped, never executed; sockets bind to the file's address."""

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name=KERNEL)
        cls.ctx = zmq.Context()

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel()
        cls.ctx.term()

    def send_raw(self, key, sign):
        """Sends an execute_request on a fresh DEALER socket, signed with `key` (or unsigned)."""
        info = self.km.get_connection_info()
        sock = self.ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.connect("%s://%s:%d" % (info["transport"], info["ip"], info["shell_port"]))
        marker = "pwned-" + uuid.uuid4().hex[:8]
        session = Session(key=key if sign else b"", signature_scheme=info["signature_scheme"])
        msg = session.msg("execute_request", content={
            "code": 'print "%s"' % marker, "silent": False, "store_history": True,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        session.send(sock, msg)
        return sock, marker

    def assert_dropped(self, key, sign):
        sock, marker = self.send_raw(key, sign)
        try:
            self.assertEqual(sock.poll(1500), 0, "the kernel answered a message it should have dropped")
        finally:
            sock.close()
        # Nothing ran: no output carried the marker, and the kernel still answers real clients.
        reply = self.kc.execute_interactive('print "ok"', timeout=15,
                                            output_hook=lambda m: self.assertNotIn(marker, json.dumps(m["content"])))
        self.assertEqual(reply["content"]["status"], "ok")

    def test_unsigned_message_is_dropped(self):
        self.assert_dropped(b"", sign=False)

    def test_badly_signed_message_is_dropped(self):
        self.assert_dropped(b"not-the-key", sign=True)

    def test_correctly_signed_message_runs(self):
        sock, marker = self.send_raw(self.km.session.key, sign=True)
        try:
            self.assertNotEqual(sock.poll(15000), 0, "a correctly signed request got no reply")
        finally:
            sock.close()

    def test_sockets_bind_to_connection_address(self):
        info = self.km.get_connection_info()
        self.assertEqual(info["ip"], "127.0.0.1")
        ports = {info[k] for k in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")}
        listening = {}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            if not os.path.exists(table):
                continue
            with open(table) as f:
                next(f)
                for line in f:
                    local, state = line.split()[1], line.split()[3]
                    if state != "0A":  # LISTEN
                        continue
                    addr, port = local.rsplit(":", 1)
                    listening.setdefault(int(port, 16), set()).add(addr)
        for port in ports:
            self.assertIn(port, listening, "port %d is not listening" % port)
            # 127.0.0.1, as IPv4 or (Java's sockets) IPv4-mapped IPv6 ::ffff:127.0.0.1; never a wildcard.
            loopback = {"0100007F", "0000000000000000FFFF00000100007F"}
            self.assertTrue(listening[port] <= loopback, "port %d listens on %s" % (port, listening[port]))


class NotebookTests(unittest.TestCase):
    def test_nbconvert_executes_hello_notebook(self):
        out = os.path.join(os.environ.get("KVMSIM_TEST_TMP", "/tmp"), "hello.out.ipynb")
        subprocess.run(["/usr/bin/jupyter", "nbconvert", "--to", "notebook", "--execute",
                        "--ExecutePreprocessor.kernel_name=" + KERNEL, "--ExecutePreprocessor.timeout=60",
                        "--output", out, os.path.join(ROOT, "notebooks", "hello.ipynb")],
                       check=True, cwd=os.path.dirname(out))
        with open(out) as f:
            nb = json.load(f)
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        self.assertTrue(any(o["output_type"] == "stream" and "hello" in "".join(o["text"]) for o in outputs))
        self.assertTrue(any(o["output_type"] == "display_data" and "text/html" in o["data"] for o in outputs))
        self.assertFalse(any(o["output_type"] == "error" for o in outputs))

"""pytest hooks of the protocol tests: the interrupt latencies measured, printed at the end
whether the tests passed or not (issue 21 asks for the figures, not just a pass)."""

import sys


def pytest_terminal_summary(terminalreporter):
    module = sys.modules.get("test_kvmsim_kernel")
    latencies = getattr(module, "INTERRUPT_LATENCIES", None)
    if not latencies:
        return
    terminalreporter.section("interrupt latencies (request or SIGINT -> reply or exit)")
    for where, name, seconds in latencies:
        terminalreporter.write_line("%-13s %-15s %.3f s" % (where, name, seconds))

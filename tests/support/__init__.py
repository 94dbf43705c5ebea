"""What more than one test folder needs, written once.

The face: :func:`free_port` / :func:`free_ports` (loopback ports), :class:`FakeClock` and
:data:`T0` (a clock the test moves), :func:`mint` / :func:`claims_of` (session tokens as the
app writes them, through the gateway's codec), :func:`config_text` (the one builder of config
file text) and :func:`start_gateway` (the gateway served as ``gateway run`` serves it;
:class:`GatewayTestServer` puts that under aiohttp's ``TestClient``).

Beside them, helpers of one kind of test that conftest files must not hold (they hold
fixtures only): ``upstreams`` (the recording upstreams), ``harness`` (the integration
harness), ``live`` and ``wire`` (the hostile suite's background gateways and hand-written
HTTP/1.1), ``process`` and ``config_files`` (``gateway run`` as a child process, and its
config file changed as editors and the kubelet change it), ``polling`` (waiting on a
condition against a deadline).
"""

from tests.support.clock import T0, FakeClock
from tests.support.configs import config_text
from tests.support.ports import free_port, free_ports
from tests.support.serving import GatewayTestServer, RunningGateway, start_gateway
from tests.support.tokens import claims_of, mint

__all__ = [
    "T0",
    "FakeClock",
    "GatewayTestServer",
    "RunningGateway",
    "claims_of",
    "config_text",
    "free_port",
    "free_ports",
    "mint",
    "start_gateway",
]

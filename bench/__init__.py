"""The benchmark behind ``make bench``: the gateway against a bare aiohttp proxy and a naive
jwcrypto proxy, on loopback, driven by wrk, measured from /proc. See bench/README.md."""

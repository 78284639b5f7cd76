"""What the tests (and bench/) use to drive a real dutychat: one module per concern.

- paths: the repository root and the test-artifacts directory
- live: a server in this process on a loopback port (`Live`, `start_live`, `stop_live`)
- clients: real socket.io clients that record every event (`Visitor`, `StaffMember`, `login`)
- http: an HTTP session against a live server (`Http`, `Reply`)
- redis: the local or a throwaway redis-server, and reading keys under a prefix
- postgres: a throwaway PostgreSQL database
- processes: the real `dutychat` command in a subprocess
- balancer: a TCP load balancer in front of several workers
- http_proxy: a reverse proxy that refuses WebSocket upgrades

Fixtures stay in tests/conftest.py and call into these modules.
"""

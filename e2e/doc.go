// Package e2e holds the end-to-end tests of the whole program with real
// parts: the built smartdocs binary, several instances of it, Debian's
// nginx in front and a real redis-server behind. It has no code of its
// own; see its tests.
//
// The tests skip with a message when nginx is missing, unless
// REQUIRE_NGINX=1 (CI sets it), and when redis-server is missing, unless
// REQUIRE_REDIS=1. They assert counts and states, never timings.
package e2e

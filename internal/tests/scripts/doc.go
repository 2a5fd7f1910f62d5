// Package scriptstest tests the scripts (scripts/) and make setup as they
// run on a learner's laptop: with stand-ins for apt-get, brew, sudo and
// systemctl that record every call (outside CI, not asked to, none may be
// called), without redis-server, a browser or Docker, and with macOS's
// stock tools (no GNU timeout, no sed -i). It has only tests.
package scripts

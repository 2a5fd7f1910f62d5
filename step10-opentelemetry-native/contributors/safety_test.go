package main

import (
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/contracttest"
	"github.com/tracing-tutorial/tutorial/step10-opentelemetry-native/internal/web"
)

// TestTokenStaysHome: GITHUB_TOKEN goes over HTTPS, or to this machine;
// never in clear text across a network.
func TestTokenStaysHome(t *testing.T) { contracttest.TokenStaysHome(t, newGitHubClient) }

// FuzzValidateRepo: the route's owner/repo validation never panics, takes
// only names GitHub can have, and refuses in a bounded message.
// scripts/fuzz runs it (go test -fuzz FuzzValidateRepo).
func FuzzValidateRepo(f *testing.F) { contracttest.FuzzRepoNames(f, web.ValidateRepo) }

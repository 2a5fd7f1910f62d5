package main

// The gateway's tests with a real Redis (e2e.Main starts what they need).
// Step 11's programs are step 10's: its lesson, Jaeger run as its roles, is
// tested end to end in internal/jaeger (TestRoles*).

import (
	"os"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/lesson"
)

func TestMain(m *testing.M) { os.Exit(lesson.Main(m)) }

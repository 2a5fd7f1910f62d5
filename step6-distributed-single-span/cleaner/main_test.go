package main

import (
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func init() { badThings = false }

func TestCleaner(t *testing.T) { stepsuite.TestCleaner(t, stepsuite.Cleaner{CleanJob: cleanJob}) }

package main

import (
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/lesson"
)

func init() { badThings = false }

func TestCleaner(t *testing.T) { lesson.TestCleaner(t, lesson.Cleaner{CleanJob: cleanJob}) }

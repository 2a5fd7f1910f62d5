package lesson_test

import (
	"os"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

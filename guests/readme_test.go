package guests_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// codeLangs are the fence info strings of SDK code: such a block in a guide must be an exact
// excerpt of a file that is built and tested, named by a marker line just above the fence.
var codeLangs = map[string]bool{"go": true, "c": true, "rust": true, "ts": true, "typescript": true, "zig": true, "wat": true}

// TestGuidesQuoteBuiltCode checks that every code block of a first-function guide is a verbatim
// excerpt of the file its "<!-- file: path -->" marker names, so that the code a guide shows is
// the code that is built and run by the conformance suite.
func TestGuidesQuoteBuiltCode(t *testing.T) {
	guides, err := filepath.Glob("*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	guides = append(guides, "../docs/guests.md")
	for _, guide := range guides {
		if _, err := os.Stat(guide); os.IsNotExist(err) && guide == "../docs/guests.md" {
			t.Errorf("docs/guests.md is missing")
			continue
		}
		checkGuide(t, guide)
	}
}

func checkGuide(t *testing.T, guide string) {
	src, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, 1<<20)
	var (
		line, start int
		prev, file  string
		lang        string
		in          bool
		block       []string
	)
	for sc.Scan() {
		line++
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		switch {
		case !in && strings.HasPrefix(trimmed, "```"):
			in, start, block = true, line, nil
			lang = strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
			file = ""
			if p, ok := strings.CutPrefix(strings.TrimSpace(prev), "<!-- file:"); ok {
				file = strings.TrimSpace(strings.TrimSuffix(p, "-->"))
			}
		case in && trimmed == "```":
			in = false
			checkBlock(t, guide, start, lang, file, strings.Join(block, "\n"))
		case in:
			block = append(block, text)
		}
		prev = text
	}
	if in {
		t.Errorf("%s:%d: code block never closed", guide, start)
	}
}

func checkBlock(t *testing.T, guide string, line int, lang, file, code string) {
	t.Helper()
	if file == "" {
		if codeLangs[lang] {
			t.Errorf("%s:%d: %s block has no <!-- file: path --> marker naming the built file it quotes", guide, line, lang)
		}
		return
	}
	src, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		t.Errorf("%s:%d: the marker names %s: %v", guide, line, file, err)
		return
	}
	if !strings.Contains(string(src), code) {
		t.Errorf("%s:%d: this block is not an exact excerpt of %s:\n%s", guide, line, file, code)
	}
}

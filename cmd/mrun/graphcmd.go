package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/graphfile"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
)

type graphOptions struct {
	io     streams
	graph  string
	format string
	expand bool
}

var graphFormats = []string{"dot", "mermaid"}

func newGraphCmd(io streams) *cobra.Command {
	o := &graphOptions{io: io}
	cmd := &cobra.Command{
		Use:   "graph GRAPH",
		Short: "Print the task graph of a graph file for Graphviz (dot) or Markdown (mermaid)",
		Long: `Print the dependency graph of a graph file as text: Graphviz dot, or a
Mermaid flowchart that GitHub renders inside Markdown.

Each task is one node (a foreach task shows its call count as ×N); an edge
goes from a task to each task that uses its value. --expand draws one node
per call instead. The file is checked as 'mrun run' checks it, including each
task's arguments against the signatures its module carries (read from the
module files that exist; modules are not compiled) and nothing runs.`,
		Example: `  mrun graph examples/seed.yaml | dot -Tsvg > seed.svg
  mrun graph examples/seed.yaml --format mermaid
  mrun graph examples/seed.yaml --expand`,
		Args:              oneArg("a GRAPH file"),
		ValidArgsFunction: completeFiles("yaml", "yml", "json"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.graph = args[0]
			return runGraph(o)
		},
	}
	cmd.Flags().StringVarP(&o.format, "format", "f", "dot", "output format: "+strings.Join(graphFormats, " or "))
	cmd.Flags().BoolVar(&o.expand, "expand", false, "one node per call, instead of one per task")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(graphFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runGraph(o *graphOptions) error {
	var write func(*strings.Builder, *graphfile.Graph, []gnode)
	switch o.format {
	case "dot":
		write = writeDot
	case "mermaid":
		write = writeMermaid
	default:
		return usagef("--format must be dot or mermaid, not %q", o.format)
	}
	g, err := loadGraph(o.graph, o.io.In)
	if err != nil {
		return err
	}
	if err := checkSignatures(g); err != nil {
		return err
	}
	var b strings.Builder
	write(&b, g, nodes(g, o.expand))
	_, err = fmt.Fprint(o.io.Out, b.String())
	return err
}

// gnode is a node of the drawn graph: a task, or one call with --expand.
type gnode struct {
	id, label string
	deps      []int // indexes of the nodes it depends on
}

// nodes lists the graph's nodes in file order, with ids and labels to draw.
func nodes(g *graphfile.Graph, expand bool) []gnode {
	var nodes []gnode
	ids := map[string]bool{}
	newID := func(name string) string {
		id := strings.NewReplacer("[", "_", "]", "").Replace(name)
		if !safeID.MatchString(id) || strings.EqualFold(id, "end") || ids[id] {
			id = fmt.Sprintf("n%d", len(nodes))
		}
		ids[id] = true
		return id
	}
	for _, n := range g.Nodes(expand) {
		label := n.Name + "\n" + n.Func
		if !expand {
			if n.Instances > 0 {
				label += fmt.Sprintf(" ×%d", n.Instances)
			}
			if n.NOutput > 1 {
				label += fmt.Sprintf(" → %d outputs", n.NOutput)
			}
		}
		nodes = append(nodes, gnode{id: newID(n.Name), label: label, deps: n.Deps})
	}
	return nodes
}

var safeID = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func writeDot(b *strings.Builder, g *graphfile.Graph, nodes []gnode) {
	name := strings.TrimSuffix(filepath.Base(g.Name()), filepath.Ext(g.Name()))
	fmt.Fprintf(b, "digraph %s {\n", dotQuote(name))
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	for _, n := range nodes {
		fmt.Fprintf(b, "  %s [label=%s];\n", dotID(n.id), dotQuote(n.label))
	}
	for _, n := range nodes {
		for _, d := range n.deps {
			fmt.Fprintf(b, "  %s -> %s;\n", dotID(nodes[d].id), dotID(n.id))
		}
	}
	b.WriteString("}\n")
}

// dotKeywords are the words DOT reserves, in any case: a node with one of these ids must be
// quoted.
var dotKeywords = []string{"node", "edge", "graph", "digraph", "subgraph", "strict"}

// dotID writes id as a DOT node id: bare when DOT takes it bare, quoted otherwise.
func dotID(id string) string {
	for _, k := range dotKeywords {
		if strings.EqualFold(id, k) {
			return dotQuote(id)
		}
	}
	if !safeID.MatchString(id) {
		return dotQuote(id)
	}
	return id
}

// dotQuote quotes s as a dot string; newlines become centred line breaks.
func dotQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
	return `"` + s + `"`
}

func writeMermaid(b *strings.Builder, g *graphfile.Graph, nodes []gnode) {
	b.WriteString("flowchart LR\n")
	for _, n := range nodes {
		label := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", "<br/>").Replace(n.label)
		fmt.Fprintf(b, "  %s[\"%s\"]\n", n.id, label)
	}
	for _, n := range nodes {
		for _, d := range n.deps {
			fmt.Fprintf(b, "  %s --> %s\n", nodes[d].id, n.id)
		}
	}
}

// plural prints n and word, with an s unless n is 1: "1 page", "3 pages".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// checkSignatures checks the tasks' arguments against the signatures in the graph's module
// files, read without compiling them. A module file that is not there yet is skipped: drawing
// a graph needs no modules.
func checkSignatures(g *graphfile.Graph) error {
	sigs := map[string][]*sig.Signature{}
	for _, m := range g.Modules() {
		if isNativeRef(m.Path) {
			continue
		}
		path := m.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(g.Dir(), path)
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return g.Errorf(m.Pos, "module %q: %v", m.Name, err)
		}
		if sigs[m.Name], err = sig.Read(b); err != nil {
			return g.Errorf(m.Pos, "module %q (%s): %v: %v", m.Name, path, runtime.ErrBadSignature, err)
		}
	}
	return g.CheckSignatures(sigs)
}

package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

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
per call instead. The file is checked as 'mrun run' checks it, but modules
are not loaded and nothing runs.`,
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
	var write func(*strings.Builder, *graphSpec, []gnode)
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
	var b strings.Builder
	write(&b, g, g.nodes(o.expand))
	_, err = fmt.Fprint(o.io.Out, b.String())
	return err
}

// gnode is a node of the drawn graph: a task, or one call with --expand.
type gnode struct {
	id, label string
	deps      []int // indexes of the nodes it depends on
}

// nodes lists the graph's nodes in file order.
func (g *graphSpec) nodes(expand bool) []gnode {
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
	if !expand {
		index := map[*taskSpec]int{}
		for i, t := range g.tasks {
			index[t] = i
		}
		for _, t := range g.tasks {
			label := t.name + "\n" + t.module.name + "." + t.function
			if t.foreach != nil {
				label += fmt.Sprintf(" ×%d", len(t.insts))
			}
			if t.nOutput > 1 {
				label += fmt.Sprintf(" → %d outputs", t.nOutput)
			}
			n := gnode{id: newID(t.name), label: label}
			for _, d := range t.deps {
				n.deps = append(n.deps, index[d])
			}
			nodes = append(nodes, n)
		}
		return nodes
	}
	index := map[*callInst]int{}
	for _, t := range g.tasks {
		for _, c := range t.insts {
			index[c] = len(index)
		}
	}
	for _, t := range g.tasks {
		for _, c := range t.insts {
			n := gnode{id: newID(c.label()), label: c.label() + "\n" + t.module.name + "." + t.function}
			seen := map[int]bool{}
			var visit func(s sval)
			visit = func(s sval) {
				switch s.kind {
				case vRef:
					if i := index[s.call]; !seen[i] {
						seen[i] = true
						n.deps = append(n.deps, i)
					}
				case vList, vMap:
					for _, x := range s.items {
						visit(x)
					}
				}
			}
			for _, a := range c.args {
				visit(a)
			}
			visit(c.kwargs)
			nodes = append(nodes, n)
		}
	}
	return nodes
}

var safeID = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func writeDot(b *strings.Builder, g *graphSpec, nodes []gnode) {
	name := strings.TrimSuffix(filepath.Base(g.file), filepath.Ext(g.file))
	fmt.Fprintf(b, "digraph %s {\n", dotQuote(name))
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	for _, n := range nodes {
		fmt.Fprintf(b, "  %s [label=%s];\n", n.id, dotQuote(n.label))
	}
	for _, n := range nodes {
		for _, d := range n.deps {
			fmt.Fprintf(b, "  %s -> %s;\n", nodes[d].id, n.id)
		}
	}
	b.WriteString("}\n")
}

// dotQuote quotes s as a dot string; newlines become centred line breaks.
func dotQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
	return `"` + s + `"`
}

func writeMermaid(b *strings.Builder, g *graphSpec, nodes []gnode) {
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

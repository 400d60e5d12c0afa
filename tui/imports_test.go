package tui

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The screen never touches a host: what it shows it reads, and the one
// change it makes (a fault by hand) goes through the engine. These rules
// say what that forbids in the tui package's own files (its tests may fake
// hosts).
const (
	modPath    = "github.com/ztlab/zt-lab"
	infraPkg   = modPath + "/infra"
	meshPkg    = modPath + "/mesh"
	scenesPkg  = modPath + "/scenes"
	whyHost    = "changes the lab behind the engine's back: fail and recover hosts through labSource (the engine), read them as scenes.HostView"
	whyMesh    = "is not mesh.View: the screen reads the Consul cluster through View alone, so nothing it calls can change it"
	whyEnv     = "acts on the Env, or hands out a host that can be changed: the screen reads the Env's views and drives the engine"
	whyImports = "is a provider: the screen reads the lab through the engine, never a provider"
)

// forbiddenImports are the providers: neither tui nor anything it imports
// may import them (cmd/zt-lab wires them).
var forbiddenImports = []string{infraPkg + "/local", infraPkg + "/ssh", infraPkg + "/equinix"}

// callRule forbids calling methods declared in pkg (on the type recv, or
// any type of pkg when recv is empty): those named in names, or, when
// names is nil, every one not in allow.
type callRule struct {
	pkg, recv    string
	names, allow []string
	why          string
}

var callRules = []callRule{
	{pkg: infraPkg, names: []string{"Start", "Run", "WriteFile", "Fail", "Recover", "AddHost", "Close", "Stop", "Up", "Down"}, why: whyHost},
	{pkg: meshPkg, allow: []string{"View"}, why: whyMesh},
	{pkg: scenesPkg, recv: "Env", names: []string{"Lab", "Host", "Fail", "Recover", "Reset", "Close", "StartSniffer", "StopSniffer",
		"StartFortune", "Consume", "OnServed", "ConsumerLine", "Logf", "LabChanged", "CrashUnderLoad", "RepeatFailures", "RepeatFailovers"}, why: whyEnv},
	{pkg: modPath + "/sniffer", recv: "Capture", names: []string{"Close"}, why: whyEnv},
}

// hostTouches lists what files, type-checked as the tui package, do that
// the rules forbid: one line each, "file:line: what: why"; and the type
// errors, which leave the checker blind where they are.
func hostTouches(fset *token.FileSet, files []*ast.File, imp types.Importer) (found []string, typeErrs []error) {
	at := func(p token.Pos) string {
		pos := fset.Position(p)
		return filepath.Base(pos.Filename) + ":" + strconv.Itoa(pos.Line)
	}
	for _, f := range files {
		for _, spec := range f.Imports {
			path, _ := strconv.Unquote(spec.Path.Value)
			if forbidden(path) {
				found = append(found, at(spec.Pos())+": imports "+path+": "+whyImports)
			}
		}
	}
	info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
	// An error (an import with no export data, say) leaves the rest
	// checked.
	conf := types.Config{Importer: imp, Error: func(err error) { typeErrs = append(typeErrs, err) }}
	conf.Check(modPath+"/tui", fset, files, info)
	for sel, s := range info.Selections {
		if s.Kind() == types.FieldVal {
			continue
		}
		fn, ok := s.Obj().(*types.Func)
		if !ok || fn.Pkg() == nil {
			continue
		}
		for _, r := range callRules {
			if what, bad := r.forbids(fn); bad {
				found = append(found, at(sel.Sel.Pos())+": calls "+what+": "+r.why)
			}
		}
	}
	slices.Sort(found)
	return found, typeErrs
}

func forbidden(path string) bool {
	for _, p := range forbiddenImports {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// forbids says whether the rule forbids calling fn, and names it.
func (r callRule) forbids(fn *types.Func) (string, bool) {
	if fn.Pkg().Path() != r.pkg {
		return "", false
	}
	recv := ""
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		t := sig.Recv().Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			recv = n.Obj().Name()
		}
	}
	if r.recv != "" && recv != r.recv {
		return "", false
	}
	name := fn.Name()
	if r.names != nil && !slices.Contains(r.names, name) || r.names == nil && slices.Contains(r.allow, name) {
		return "", false
	}
	what := fn.Pkg().Name() + "." + name
	if recv != "" {
		what = "(" + fn.Pkg().Name() + "." + recv + ")." + name
	}
	return what, true
}

// exports runs `go list -export -deps` on the tui package: the export data
// of every package it imports, for the type checker, and their paths.
func exports(t *testing.T) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(goTool, "list", "-export", "-deps", "-json=ImportPath,Export", ".")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export -deps: %v\n%s", err, stderr.String())
	}
	paths := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		paths[p.ImportPath] = p.Export
	}
	if paths[scenesPkg] == "" || paths[infraPkg] == "" {
		t.Fatalf("go list found no export data for scenes and infra: %v", paths)
	}
	return paths
}

// exportImporter type-checks imports from the export data go list found.
func exportImporter(fset *token.FileSet, paths map[string]string) types.Importer {
	return importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f := paths[path]
		if f == "" {
			return nil, errors.New("no export data for " + path)
		}
		return os.Open(f)
	})
}

// TestTheScreenNeverTouchesAHost checks the tui package's own files (not
// its tests, whose fakes fail hosts by design) and everything it imports.
func TestTheScreenNeverTouchesAHost(t *testing.T) {
	paths := exports(t)
	for path := range paths {
		if forbidden(path) {
			t.Errorf("tui imports %s, directly or not: %s", path, whyImports)
		}
	}
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) < 10 {
		t.Fatalf("found %d files of the tui package: run from its directory", len(files))
	}
	found, typeErrs := hostTouches(fset, files, exportImporter(fset, paths))
	for _, err := range typeErrs {
		t.Errorf("the checker cannot see through a type error: %v", err)
	}
	for _, f := range found {
		t.Error(f)
	}
}

// The checker finds what it is there to find, and lets the screen read.
func TestTheHostCheckerFindsAScreenThatTouchesAHost(t *testing.T) {
	paths := exports(t)
	tests := []struct {
		name, src string
		want      []string // substrings, one per finding, in order
	}{
		{
			name: "reading hosts and driving the engine is fine",
			src: `func f(ctx context.Context, e *scenes.Engine, h infra.Host, c *mesh.Cluster) {
				_ = h.Name() + string(h.State())
				_ = e.Fail(ctx, "fcs00", infra.Crash)
				_ = e.Recover(ctx, "fcs00")
				_, _ = e.Env().LabView()
				_ = e.RunStep(ctx, 0, 0)
				_, _ = c.View(ctx)
			}`,
		},
		{
			name: "failing a host",
			src:  `func f(ctx context.Context, h infra.Host) { _ = h.Fail(ctx, infra.Crash) }`,
			want: []string{"x.go:5: calls (infra.Host).Fail: changes the lab"},
		},
		{
			name: "recovering a host the Env handed out",
			src: `func f(ctx context.Context, env *scenes.Env) {
				h, _ := env.Host("fcs00")
				_ = h.Recover(ctx)
				l := env.Lab()
				_, _ = l.Hosts()[0].Run(ctx, "true")
			}`,
			want: []string{"x.go:6: calls (scenes.Env).Host", "x.go:7: calls (infra.Host).Recover", "x.go:8: calls (scenes.Env).Lab", "x.go:9: calls (infra.Host).Run"},
		},
		{
			name: "a method value, and a step's fault",
			src: `func f(ctx context.Context, h infra.Host, env *scenes.Env) {
				fail := infra.Host.Fail
				_ = fail(h, ctx, infra.Freeze)
				_ = env.Fail(ctx, "fcs00", infra.Crash)
			}`,
			want: []string{"x.go:6: calls (infra.Host).Fail", "x.go:8: calls (scenes.Env).Fail"},
		},
		{
			name: "changing the cluster",
			src:  `func f(ctx context.Context, c *mesh.Cluster) { _ = c.Close(ctx) }`,
			want: []string{"x.go:5: calls (mesh.Cluster).Close: is not mesh.View"},
		},
		{
			name: "importing a provider",
			src:  "var _ = local.Sandboxed\n",
			want: []string{`x.go:3: imports github.com/ztlab/zt-lab/infra/local: is a provider`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imports := `"context"; "github.com/ztlab/zt-lab/infra"; "github.com/ztlab/zt-lab/mesh"; "github.com/ztlab/zt-lab/scenes"`
			if strings.Contains(tt.src, "local.") {
				imports = `"github.com/ztlab/zt-lab/infra/local"`
			}
			src := "package tui\n\nimport (" + imports + ")\n\n" + tt.src
			if !strings.Contains(tt.src, "local.") {
				// Every import used, whatever the snippet uses.
				src += "\nvar (_ context.Context; _ infra.Host; _ *mesh.Cluster; _ *scenes.Env)\n"
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", src, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, typeErrs := hostTouches(fset, []*ast.File{f}, exportImporter(fset, paths))
			if len(typeErrs) > 0 && !strings.Contains(tt.src, "local.") {
				t.Fatalf("the snippet does not type-check: %v", typeErrs)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("found %d, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("finding %d is %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}

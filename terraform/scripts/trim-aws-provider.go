// trim-aws-provider narrows a writable copy of the terraform-provider-aws source
// to the service packages a configuration uses, so that it builds in minutes
// instead of half an hour (scripts/build-aws-provider.sh runs it).
//
//	go run trim-aws-provider.go <provider source dir> <service package>...
//
// Only two generated files change:
//   - internal/provider/sdkv2/service_packages_gen.go keeps the listed service
//     packages: the provider then serves exactly their resources and data
//     sources, with their unchanged schemas and validation;
//   - internal/conns/awsclient_gen.go keeps the AWS SDK client getters that the
//     kept code calls, so the ~260 other AWS SDK service modules are not compiled.
//
// A resource type of a service left out is reported by the engine as
// unsupported: the check fails loudly, never passes by omission.
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

const (
	servicePackagesFile = "internal/provider/sdkv2/service_packages_gen.go"
	clientsFile         = "internal/conns/awsclient_gen.go"
	servicePrefix       = "github.com/hashicorp/terraform-provider-aws/internal/service/"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go run trim-aws-provider.go <provider source dir> <service package>...")
		os.Exit(2)
	}
	src := os.Args[1]
	keep := map[string]bool{}
	for _, s := range os.Args[2:] {
		if _, err := os.Stat(filepath.Join(src, "internal/service", s)); err != nil {
			fail("no service package %q in %s/internal/service", s, src)
		}
		keep[s] = true
	}

	trimServicePackages(filepath.Join(src, servicePackagesFile), keep)

	// First drop every client getter, to learn which internal packages the kept
	// services pull in; then keep the getters that those packages call.
	clients := filepath.Join(src, clientsFile)
	original, err := os.ReadFile(clients)
	check(err)
	writeClients(clients, original, func(string) bool { return false })
	called := calledGetters(src)
	writeClients(clients, original, func(name string) bool { return called[name] })
	fmt.Printf("trimmed the provider to %d service packages and %d AWS SDK clients\n", len(keep), len(called))
}

// The generated file lists one service per line, both in its imports and in the
// slice it returns; the lines of services not kept are dropped.
func trimServicePackages(path string, keep map[string]bool) {
	raw, err := os.ReadFile(path)
	check(err)
	importLine := regexp.MustCompile(`^\t"` + regexp.QuoteMeta(servicePrefix) + `([a-z0-9]+)"$`)
	entryLine := regexp.MustCompile(`^\t\t([a-z0-9]+)\.ServicePackage\(ctx\),$`)
	var out []string
	found := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		m := importLine.FindStringSubmatch(line)
		if m == nil {
			m = entryLine.FindStringSubmatch(line)
		}
		if m != nil {
			if !keep[m[1]] {
				continue
			}
			found[m[1]] = true
		}
		out = append(out, line)
	}
	for s := range keep {
		if !found[s] {
			fail("%s does not register service package %q", path, s)
		}
	}
	check(os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644))
}

// Every `XxxClient(ctx` called in the provider's own packages that the build
// reaches (go list -deps from the main package).
func calledGetters(src string) map[string]bool {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", ".")
	cmd.Dir = src
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	check(err)
	call := regexp.MustCompile(`\b([A-Z][A-Za-z0-9]*Client)\(ctx\b`)
	called := map[string]bool{}
	internal := filepath.Join(src, "internal") + string(filepath.Separator)
	for _, dir := range strings.Fields(string(out)) {
		if !strings.HasPrefix(dir+string(filepath.Separator), internal) {
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		check(err)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "awsclient_gen.go") {
				continue
			}
			b, err := os.ReadFile(f)
			check(err)
			for _, m := range call.FindAllSubmatch(b, -1) {
				called[string(m[1])] = true
			}
		}
	}
	return called
}

// Writes the getters file with the getters kept, and only the imports they use.
func writeClients(path string, original []byte, keep func(string) bool) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, original, parser.ParseComments)
	check(err)
	var decls []ast.Decl
	used := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if ok && fn.Recv != nil && !keep(fn.Name.Name) {
			continue
		}
		if ok {
			ast.Inspect(fn, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok {
						used[id.Name] = true
					}
				}
				return true
			})
		}
		decls = append(decls, d)
	}
	for _, d := range decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		var specs []ast.Spec
		for _, s := range gd.Specs {
			is := s.(*ast.ImportSpec)
			name := strings.Trim(is.Path.Value, `"`)
			name = name[strings.LastIndex(name, "/")+1:]
			if is.Name != nil {
				name = is.Name.Name
			}
			if used[name] {
				specs = append(specs, s)
			}
		}
		gd.Specs = specs
	}
	f.Decls = decls
	// Only the header comments before `package`; the getters have none.
	var header []*ast.CommentGroup
	for _, g := range f.Comments {
		if g.End() <= f.Package {
			header = append(header, g)
		}
	}
	f.Comments = header
	var buf bytes.Buffer
	check(format.Node(&buf, fset, f))
	check(os.WriteFile(path, buf.Bytes(), 0o644))
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "trim-aws-provider: "+format+"\n", args...)
	os.Exit(1)
}

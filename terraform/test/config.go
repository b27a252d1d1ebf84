// Package statictest reads the Terraform configuration in terraform/ with the
// HCL parser Terraform itself uses, and evaluates just enough of it to check
// properties of the default (and switched) configuration without the AWS
// provider, credentials or network.
//
// Values that only AWS knows are stood in for by symbols: the id of the first
// public subnet evaluates to the string "aws_subnet.public[0].id", the ARN of the
// OIDC provider to "aws_iam_openid_connect_provider.eks.arn", and so on. So a
// test can ask "which resources do the node group's subnet_ids point at?" and
// get an answer Terraform would agree with, for the settings the test chooses.
package statictest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Config is the top-level content of one Terraform module directory.
type Config struct {
	Dir       string
	Terraform []*hclsyntax.Block
	Providers []*hclsyntax.Block
	Variables map[string]*hclsyntax.Block
	Outputs   map[string]*hclsyntax.Block
	Locals    map[string]*hclsyntax.Attribute
	Resources map[string]*hclsyntax.Block // "type.name"
	Data      map[string]*hclsyntax.Block // "type.name"
	Modules   map[string]*hclsyntax.Block

	// Every attribute name that appears after a dot anywhere in the
	// configuration; each symbolic resource instance carries all of them.
	attrNames map[string]bool
}

// Load parses every *.tf file in dir.
func Load(dir string) (*Config, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *.tf files in %s", dir)
	}
	sort.Strings(paths)
	c := &Config{
		Dir:       dir,
		Variables: map[string]*hclsyntax.Block{},
		Outputs:   map[string]*hclsyntax.Block{},
		Locals:    map[string]*hclsyntax.Attribute{},
		Resources: map[string]*hclsyntax.Block{},
		Data:      map[string]*hclsyntax.Block{},
		Modules:   map[string]*hclsyntax.Block{},
		attrNames: map[string]bool{},
	}
	parser := hclparse.NewParser()
	for _, p := range paths {
		f, diags := parser.ParseHCLFile(p)
		if diags.HasErrors() {
			return nil, diags
		}
		body := f.Body.(*hclsyntax.Body)
		for _, b := range body.Blocks {
			key := strings.Join(b.Labels, ".")
			switch b.Type {
			case "terraform":
				c.Terraform = append(c.Terraform, b)
			case "provider":
				c.Providers = append(c.Providers, b)
			case "variable":
				c.Variables[key] = b
			case "output":
				c.Outputs[key] = b
			case "locals":
				for name, a := range b.Body.Attributes {
					c.Locals[name] = a
				}
			case "resource":
				c.Resources[key] = b
			case "data":
				c.Data[key] = b
			case "module":
				c.Modules[key] = b
			}
		}
		hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			var tr hcl.Traversal
			switch e := n.(type) {
			case *hclsyntax.ScopeTraversalExpr:
				tr = e.Traversal
			case *hclsyntax.RelativeTraversalExpr:
				tr = e.Traversal
			}
			for _, step := range tr {
				if a, ok := step.(hcl.TraverseAttr); ok {
					c.attrNames[a.Name] = true
				}
			}
			return nil
		})
	}
	return c, nil
}

// ResourcesOfType returns the "type.name" keys of all resources of one type.
func (c *Config) ResourcesOfType(typ string) []string {
	var keys []string
	for k := range c.Resources {
		if strings.HasPrefix(k, typ+".") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Evaluator evaluates expressions of a Config for one set of variable values.
type Evaluator struct {
	c      *Config
	vars   map[string]cty.Value
	locals map[string]cty.Value
	busy   map[string]bool
	funcs  map[string]function.Function
}

// NewEvaluator uses each variable's default, converted to its declared type,
// except where overrides gives a value.
func (c *Config) NewEvaluator(overrides map[string]cty.Value) (*Evaluator, error) {
	e := &Evaluator{
		c:      c,
		vars:   map[string]cty.Value{},
		locals: map[string]cty.Value{},
		busy:   map[string]bool{},
	}
	e.funcs = e.functions()
	for name, b := range c.Variables {
		ty := cty.DynamicPseudoType
		if a, ok := b.Body.Attributes["type"]; ok {
			t, diags := typeexpr.TypeConstraint(a.Expr)
			if diags.HasErrors() {
				return nil, fmt.Errorf("variable %s: %s", name, diags.Error())
			}
			ty = t
		}
		v := cty.NullVal(ty)
		if a, ok := b.Body.Attributes["default"]; ok {
			d, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				return nil, fmt.Errorf("variable %s default: %s", name, diags.Error())
			}
			v = d
		}
		if o, ok := overrides[name]; ok {
			v = o
		}
		cv, err := convert.Convert(v, ty)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		e.vars[name] = cv
	}
	for name := range overrides {
		if _, ok := c.Variables[name]; !ok {
			return nil, fmt.Errorf("override for undeclared variable %q", name)
		}
	}
	return e, nil
}

// Var returns a variable's value.
func (e *Evaluator) Var(name string) cty.Value { return e.vars[name] }

// Local evaluates local.<name>.
func (e *Evaluator) Local(name string) (cty.Value, error) {
	if v, ok := e.locals[name]; ok {
		return v, nil
	}
	a, ok := e.c.Locals[name]
	if !ok {
		return cty.NilVal, fmt.Errorf("local.%s is not declared", name)
	}
	if e.busy[name] {
		return cty.NilVal, fmt.Errorf("local.%s refers to itself", name)
	}
	e.busy[name] = true
	defer delete(e.busy, name)
	v, err := e.Eval(a.Expr, nil)
	if err != nil {
		return cty.NilVal, fmt.Errorf("local.%s: %w", name, err)
	}
	e.locals[name] = v
	return v, nil
}

// Eval evaluates an expression; extra adds names such as count or each.
func (e *Evaluator) Eval(expr hcl.Expression, extra map[string]cty.Value) (cty.Value, error) {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: e.funcs}
	for k, v := range extra {
		ctx.Variables[k] = v
	}
	resources := map[string]map[string]cty.Value{}
	data := map[string]map[string]cty.Value{}
	locals := map[string]cty.Value{}
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		switch root {
		case "var":
			ctx.Variables["var"] = cty.ObjectVal(e.vars)
		case "path":
			ctx.Variables["path"] = cty.ObjectVal(map[string]cty.Value{
				"module": cty.StringVal(e.c.Dir),
				"root":   cty.StringVal(e.c.Dir),
				"cwd":    cty.StringVal(e.c.Dir),
			})
		case "local":
			name, ok := stepName(tr, 1)
			if !ok {
				return cty.NilVal, fmt.Errorf("bad reference %s", render(tr))
			}
			v, err := e.Local(name)
			if err != nil {
				return cty.NilVal, err
			}
			locals[name] = v
		case "data":
			typ, ok1 := stepName(tr, 1)
			name, ok2 := stepName(tr, 2)
			if !ok1 || !ok2 {
				return cty.NilVal, fmt.Errorf("bad reference %s", render(tr))
			}
			v, err := e.instances("data."+typ+"."+name, e.c.Data[typ+"."+name])
			if err != nil {
				return cty.NilVal, err
			}
			if data[typ] == nil {
				data[typ] = map[string]cty.Value{}
			}
			data[typ][name] = v
		default:
			if _, ok := extra[root]; ok {
				continue
			}
			name, ok := stepName(tr, 1)
			if !ok {
				return cty.NilVal, fmt.Errorf("bad reference %s", render(tr))
			}
			b, declared := e.c.Resources[root+"."+name]
			if !declared {
				return cty.NilVal, fmt.Errorf("%s refers to an undeclared resource", render(tr))
			}
			v, err := e.instances(root+"."+name, b)
			if err != nil {
				return cty.NilVal, err
			}
			if resources[root] == nil {
				resources[root] = map[string]cty.Value{}
			}
			resources[root][name] = v
		}
	}
	if len(locals) > 0 {
		ctx.Variables["local"] = cty.ObjectVal(locals)
	}
	if len(data) > 0 {
		byType := map[string]cty.Value{}
		for t, m := range data {
			byType[t] = cty.ObjectVal(m)
		}
		ctx.Variables["data"] = cty.ObjectVal(byType)
	}
	for t, m := range resources {
		ctx.Variables[t] = cty.ObjectVal(m)
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return v, nil
}

// EvalAttr evaluates one attribute of a body; ok is false when it is absent.
func (e *Evaluator) EvalAttr(body *hclsyntax.Body, name string, extra map[string]cty.Value) (v cty.Value, ok bool, err error) {
	a, present := body.Attributes[name]
	if !present {
		return cty.NilVal, false, nil
	}
	v, err = e.Eval(a.Expr, extra)
	return v, true, err
}

// Count is how many instances a resource block has: 1 without count, the
// evaluated count otherwise. for_each is evaluated to its number of elements.
func (e *Evaluator) Count(b *hclsyntax.Block) (int, error) {
	if a, ok := b.Body.Attributes["count"]; ok {
		v, err := e.Eval(a.Expr, nil)
		if err != nil {
			return 0, err
		}
		if !v.IsKnown() || v.IsNull() {
			return 0, fmt.Errorf("count is not known statically")
		}
		n, _ := v.AsBigFloat().Int64()
		return int(n), nil
	}
	if a, ok := b.Body.Attributes["for_each"]; ok {
		v, err := e.Eval(a.Expr, nil)
		if err != nil {
			return 0, err
		}
		if !v.IsWhollyKnown() || v.IsNull() {
			return 0, fmt.Errorf("for_each is not known statically")
		}
		return v.LengthInt(), nil
	}
	return 1, nil
}

// InstanceScopes returns, for each instance of a resource block, the extra
// names its attributes may use: count.index with count, each.key and
// each.value with for_each, nothing (one nil scope) otherwise.
func (e *Evaluator) InstanceScopes(b *hclsyntax.Block) ([]map[string]cty.Value, error) {
	if _, ok := b.Body.Attributes["count"]; ok {
		n, err := e.Count(b)
		if err != nil {
			return nil, err
		}
		scopes := make([]map[string]cty.Value, n)
		for i := range scopes {
			scopes[i] = map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}
		}
		return scopes, nil
	}
	if a, ok := b.Body.Attributes["for_each"]; ok {
		v, err := e.Eval(a.Expr, nil)
		if err != nil {
			return nil, err
		}
		if !v.IsWhollyKnown() || v.IsNull() {
			return nil, fmt.Errorf("for_each is not known statically")
		}
		var scopes []map[string]cty.Value
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			if v.Type().IsSetType() {
				k = val
			}
			scopes = append(scopes, map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": k, "value": val})})
		}
		return scopes, nil
	}
	return []map[string]cty.Value{nil}, nil
}

// instances builds the symbolic value of a resource or data source: an object
// (or a tuple of objects with count, an object of objects with for_each) whose
// attributes are strings naming themselves.
func (e *Evaluator) instances(addr string, b *hclsyntax.Block) (cty.Value, error) {
	if b == nil {
		return cty.NilVal, fmt.Errorf("%s is not declared", addr)
	}
	one := func(prefix string) cty.Value {
		attrs := map[string]cty.Value{}
		for n := range e.c.attrNames {
			attrs[n] = cty.StringVal(prefix + "." + n)
		}
		return cty.ObjectVal(attrs)
	}
	if _, ok := b.Body.Attributes["count"]; ok {
		n, err := e.Count(b)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%s: %w", addr, err)
		}
		elems := make([]cty.Value, n)
		for i := range elems {
			elems[i] = one(fmt.Sprintf("%s[%d]", addr, i))
		}
		return cty.TupleVal(elems), nil
	}
	if a, ok := b.Body.Attributes["for_each"]; ok {
		v, err := e.Eval(a.Expr, nil)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%s: %w", addr, err)
		}
		if !v.IsWhollyKnown() || v.IsNull() {
			return cty.NilVal, fmt.Errorf("%s: for_each is not known statically", addr)
		}
		m := map[string]cty.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			if v.Type().IsSetType() {
				k = val
			}
			m[k.AsString()] = one(fmt.Sprintf("%s[%q]", addr, k.AsString()))
		}
		return cty.ObjectVal(m), nil
	}
	return one(addr), nil
}

// Blocks returns the nested blocks of one type.
func Blocks(body *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

// Strings converts a list, set or tuple of known strings.
func Strings(v cty.Value) ([]string, error) {
	if v.IsNull() || !v.IsWhollyKnown() {
		return nil, fmt.Errorf("value is null or not known")
	}
	if !v.CanIterateElements() {
		return nil, fmt.Errorf("value of type %s is not a collection", v.Type().FriendlyName())
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, el := it.Element()
		s, err := convert.Convert(el, cty.String)
		if err != nil {
			return nil, err
		}
		out = append(out, s.AsString())
	}
	return out, nil
}

func stepName(tr hcl.Traversal, i int) (string, bool) {
	if len(tr) <= i {
		return "", false
	}
	if a, ok := tr[i].(hcl.TraverseAttr); ok {
		return a.Name, true
	}
	return "", false
}

func render(tr hcl.Traversal) string {
	var sb strings.Builder
	for _, s := range tr {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			sb.WriteString(s.Name)
		case hcl.TraverseAttr:
			sb.WriteString("." + s.Name)
		default:
			sb.WriteString("[...]")
		}
	}
	return sb.String()
}

// functions is the subset of Terraform's functions that the configuration's
// evaluated expressions use; anything else makes an evaluation fail loudly.
func (e *Evaluator) functions() map[string]function.Function {
	return map[string]function.Function{
		"can":        tryfunc.CanFunc,
		"try":        tryfunc.TryFunc,
		"coalesce":   stdlib.CoalesceFunc,
		"concat":     stdlib.ConcatFunc,
		"contains":   stdlib.ContainsFunc,
		"element":    stdlib.ElementFunc,
		"file":       e.fileFunc(),
		"format":     stdlib.FormatFunc,
		"jsonencode": stdlib.JSONEncodeFunc,
		"jsondecode": stdlib.JSONDecodeFunc,
		"keys":       stdlib.KeysFunc,
		"length":     stdlib.LengthFunc,
		"lower":      stdlib.LowerFunc,
		"merge":      stdlib.MergeFunc,
		"range":      stdlib.RangeFunc,
		"regex":      stdlib.RegexFunc,
		"replace":    stdlib.ReplaceFunc,
		"slice":      stdlib.SliceFunc,
		"split":      stdlib.SplitFunc,
		"tolist":     stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tonumber":   stdlib.MakeToFunc(cty.Number),
		"toset":      stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":   stdlib.MakeToFunc(cty.String),
		"upper":      stdlib.UpperFunc,
		"values":     stdlib.ValuesFunc,
	}
}

// fileFunc reads a file relative to the process's working directory, as
// Terraform does (the configuration writes "${path.module}/...").
func (e *Evaluator) fileFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, err := os.ReadFile(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

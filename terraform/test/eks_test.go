package statictest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// The configuration under test is the directory above this one.
const moduleDir = ".."

func load(t *testing.T) *Config {
	t.Helper()
	c, err := Load(moduleDir)
	if err != nil {
		t.Fatalf("parsing the Terraform configuration: %v", err)
	}
	return c
}

func evaluator(t *testing.T, c *Config, overrides map[string]cty.Value) *Evaluator {
	t.Helper()
	e, err := c.NewEvaluator(overrides)
	if err != nil {
		t.Fatalf("setting up variables: %v", err)
	}
	return e
}

func natOn() map[string]cty.Value {
	return map[string]cty.Value{"enable_nat_gateway": cty.True}
}

func strs(t *testing.T, v cty.Value, what string) []string {
	t.Helper()
	s, err := Strings(v)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return s
}

func mustEval(t *testing.T, e *Evaluator, body *hclsyntax.Body, attr string, extra map[string]cty.Value, what string) cty.Value {
	t.Helper()
	v, ok, err := e.EvalAttr(body, attr, extra)
	if !ok {
		t.Fatalf("%s: attribute %s is missing", what, attr)
	}
	if err != nil {
		t.Fatalf("%s: evaluating %s: %v", what, attr, err)
	}
	return v
}

func scopes(t *testing.T, e *Evaluator, c *Config, key string) []map[string]cty.Value {
	t.Helper()
	sc, err := e.InstanceScopes(c.Resources[key])
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return sc
}

func instanceCount(t *testing.T, e *Evaluator, c *Config, key string) int {
	t.Helper()
	n, err := e.Count(c.Resources[key])
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return n
}

// The ids of every instance of a counted resource, as the evaluator names them.
func instanceIDs(t *testing.T, e *Evaluator, c *Config, key string) []string {
	t.Helper()
	n := instanceCount(t, e, c, key)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = key + "[" + strconv.Itoa(i) + "].id"
	}
	return ids
}

// ---------------------------------------------------------------------------

func TestByDefaultNoNATGatewayIsCreated(t *testing.T) {
	c := load(t)
	v := c.Variables["enable_nat_gateway"]
	if v == nil {
		t.Fatal("variable enable_nat_gateway is not declared")
	}
	e := evaluator(t, c, nil)
	if e.Var("enable_nat_gateway") != cty.False {
		t.Fatalf("enable_nat_gateway defaults to %#v, want false", e.Var("enable_nat_gateway"))
	}

	nats := c.ResourcesOfType("aws_nat_gateway")
	if len(nats) == 0 {
		t.Fatal("no aws_nat_gateway resource is declared, so enable_nat_gateway cannot switch one on")
	}
	for _, key := range append(nats, c.ResourcesOfType("aws_eip")...) {
		if n := instanceCount(t, e, c, key); n != 0 {
			t.Errorf("%s has %d instance(s) with the default variables, want 0", key, n)
		}
	}

	on := evaluator(t, c, natOn())
	total := 0
	for _, key := range nats {
		total += instanceCount(t, on, c, key)
	}
	if total == 0 {
		t.Error("with enable_nat_gateway = true there is still no NAT gateway: the switch does nothing")
	}
}

func TestByDefaultNodesRunInPublicSubnetsWithPublicIPs(t *testing.T) {
	c := load(t)
	e := evaluator(t, c, nil)

	groups := c.ResourcesOfType("aws_eks_node_group")
	if len(groups) == 0 {
		t.Fatal("no aws_eks_node_group is declared")
	}
	public := instanceIDs(t, e, c, "aws_subnet.public")
	if len(public) < 2 {
		t.Fatalf("%d public subnet(s) by default, EKS needs at least 2", len(public))
	}
	for _, key := range groups {
		got := strs(t, mustEval(t, e, c.Resources[key].Body, "subnet_ids", nil, key), key+".subnet_ids")
		if !reflect.DeepEqual(got, public) {
			t.Errorf("%s.subnet_ids = %v, want the public subnets %v", key, got, public)
		}
	}

	pub := c.Resources["aws_subnet.public"].Body
	if v := mustEval(t, e, pub, "map_public_ip_on_launch", nil, "aws_subnet.public"); v != cty.True {
		t.Errorf("aws_subnet.public.map_public_ip_on_launch = %#v, want true (nodes need public IPs without NAT)", v)
	}

	// Each public subnet is associated with a route table whose default route
	// goes to the internet gateway.
	defaultRouteTarget := map[string]string{} // route table id -> gateway id
	for _, key := range c.ResourcesOfType("aws_route") {
		b := c.Resources[key]
		for _, x := range scopes(t, e, c, key) {
			if mustEval(t, e, b.Body, "destination_cidr_block", x, key).AsString() != "0.0.0.0/0" {
				continue
			}
			rt := mustEval(t, e, b.Body, "route_table_id", x, key).AsString()
			if gw, ok, err := e.EvalAttr(b.Body, "gateway_id", x); ok && err == nil {
				defaultRouteTarget[rt] = gw.AsString()
			} else if nat, ok, err := e.EvalAttr(b.Body, "nat_gateway_id", x); ok && err == nil {
				defaultRouteTarget[rt] = nat.AsString()
			}
		}
	}
	routed := map[string]bool{}
	for _, key := range c.ResourcesOfType("aws_route_table_association") {
		b := c.Resources[key]
		for _, x := range scopes(t, e, c, key) {
			subnet := mustEval(t, e, b.Body, "subnet_id", x, key).AsString()
			rt := mustEval(t, e, b.Body, "route_table_id", x, key).AsString()
			if strings.HasPrefix(defaultRouteTarget[rt], "aws_internet_gateway.") {
				routed[subnet] = true
			}
		}
	}
	for _, id := range public {
		if !routed[id] {
			t.Errorf("%s has no default route to an internet gateway", id)
		}
	}
}

func TestEnablingNATMovesTheNodesIntoPrivateSubnets(t *testing.T) {
	c := load(t)
	e := evaluator(t, c, natOn())
	private := instanceIDs(t, e, c, "aws_subnet.private")
	if len(private) < 2 {
		t.Fatalf("with enable_nat_gateway = true there are %d private subnet(s), want at least 2", len(private))
	}
	for _, key := range c.ResourcesOfType("aws_eks_node_group") {
		got := strs(t, mustEval(t, e, c.Resources[key].Body, "subnet_ids", nil, key), key+".subnet_ids")
		if !reflect.DeepEqual(got, private) {
			t.Errorf("with NAT, %s.subnet_ids = %v, want the private subnets %v", key, got, private)
		}
	}
	b := c.Resources["aws_route.private_nat"]
	if b == nil {
		t.Fatal("aws_route.private_nat is not declared")
	}
	for i, x := range scopes(t, e, c, "aws_route.private_nat") {
		got := mustEval(t, e, b.Body, "nat_gateway_id", x, "aws_route.private_nat").AsString()
		if !strings.HasPrefix(got, "aws_nat_gateway.") {
			t.Errorf("aws_route.private_nat[%d] routes to %s, want a NAT gateway", i, got)
		}
	}
}

func TestABudgetAlertsByEmail(t *testing.T) {
	c := load(t)
	budgets := c.ResourcesOfType("aws_budgets_budget")
	if len(budgets) == 0 {
		t.Fatal("no aws_budgets_budget is declared")
	}
	e := evaluator(t, c, nil)
	with := evaluator(t, c, map[string]cty.Value{
		"budget_alert_emails": cty.ListVal([]cty.Value{cty.StringVal("ops@example.com")}),
	})
	for _, key := range budgets {
		if n := instanceCount(t, e, c, key); n != 1 {
			t.Errorf("%s has %d instance(s) by default, want 1", key, n)
		}
		body := c.Resources[key].Body
		for attr, want := range map[string]string{"budget_type": "COST", "time_unit": "MONTHLY", "limit_unit": "USD"} {
			if got := mustEval(t, e, body, attr, nil, key).AsString(); got != want {
				t.Errorf("%s.%s = %q, want %q", key, attr, got, want)
			}
		}
		if limit := mustEval(t, e, body, "limit_amount", nil, key).AsString(); !regexp.MustCompile(`^[1-9][0-9]*(\.[0-9]+)?$`).MatchString(limit) {
			t.Errorf("%s.limit_amount = %q, want a positive amount", key, limit)
		}

		notes := Blocks(body, "notification")
		if len(notes) == 0 {
			t.Fatalf("%s has no notification block", key)
		}
		actual := false
		for i, n := range notes {
			got := strs(t, mustEval(t, with, n.Body, "subscriber_email_addresses", nil, key), key+".notification.subscriber_email_addresses")
			if !reflect.DeepEqual(got, []string{"ops@example.com"}) {
				t.Errorf("%s notification %d e-mails %v, want the budget_alert_emails [ops@example.com]", key, i, got)
			}
			if mustEval(t, e, n.Body, "notification_type", nil, key).AsString() == "ACTUAL" {
				actual = true
			}
		}
		if !actual {
			t.Errorf("%s has no notification on ACTUAL spend", key)
		}

		// Without an address the apply must stop with a message, not create a
		// budget nobody hears from.
		guarded := false
		for _, lc := range Blocks(body, "lifecycle") {
			for _, pc := range Blocks(lc.Body, "precondition") {
				if mustEval(t, e, pc.Body, "condition", nil, key) == cty.False &&
					mustEval(t, with, pc.Body, "condition", nil, key) == cty.True {
					guarded = true
				}
			}
		}
		if !guarded {
			t.Errorf("%s has no precondition that fails while budget_alert_emails is empty", key)
		}
	}
}

func TestLoadBalancerControllerRoleTrustsOnlyItsServiceAccount(t *testing.T) {
	c := load(t)
	e := evaluator(t, c, nil)

	// The IAM policy built from the published policy file.
	policyKey := ""
	for _, key := range c.ResourcesOfType("aws_iam_policy") {
		doc := mustEval(t, e, c.Resources[key].Body, "policy", nil, key).AsString()
		if strings.Contains(doc, "elasticloadbalancing:CreateLoadBalancer") {
			policyKey = key
		}
	}
	if policyKey == "" {
		t.Fatal("no aws_iam_policy holds the AWS Load Balancer Controller's policy")
	}

	// The role it is attached to.
	roleKey := ""
	for _, key := range c.ResourcesOfType("aws_iam_role_policy_attachment") {
		b := c.Resources[key]
		for _, x := range scopes(t, e, c, key) {
			if mustEval(t, e, b.Body, "policy_arn", x, key).AsString() == policyKey+".arn" {
				roleKey = strings.TrimSuffix(mustEval(t, e, b.Body, "role", x, key).AsString(), ".name")
			}
		}
	}
	role := c.Resources[roleKey]
	if role == nil {
		t.Fatalf("%s is attached to no aws_iam_role of this configuration", policyKey)
	}

	// Its trust policy document.
	trust := mustEval(t, e, role.Body, "assume_role_policy", nil, roleKey).AsString()
	docKey := strings.TrimSuffix(strings.TrimPrefix(trust, "data."), ".json")
	if !strings.HasPrefix(docKey, "aws_iam_policy_document.") || c.Data[docKey] == nil {
		t.Fatalf("%s.assume_role_policy is %q, want the json of an aws_iam_policy_document", roleKey, trust)
	}
	doc := c.Data[docKey].Body

	stmts := Blocks(doc, "statement")
	if len(stmts) != 1 {
		t.Fatalf("%s has %d statements, want exactly 1", docKey, len(stmts))
	}
	st := stmts[0].Body
	if eff, ok, _ := e.EvalAttr(st, "effect", nil); ok && eff.AsString() != "Allow" {
		t.Errorf("trust statement effect = %s, want Allow", eff.AsString())
	}
	if got := strs(t, mustEval(t, e, st, "actions", nil, docKey), "actions"); !reflect.DeepEqual(got, []string{"sts:AssumeRoleWithWebIdentity"}) {
		t.Errorf("trust statement actions = %v, want [sts:AssumeRoleWithWebIdentity]", got)
	}

	// The principal is this cluster's OIDC provider, made for STS.
	principals := Blocks(st, "principals")
	if len(principals) != 1 {
		t.Fatalf("trust statement has %d principals blocks, want 1", len(principals))
	}
	if typ := mustEval(t, e, principals[0].Body, "type", nil, docKey).AsString(); typ != "Federated" {
		t.Errorf("principal type = %s, want Federated", typ)
	}
	ids := strs(t, mustEval(t, e, principals[0].Body, "identifiers", nil, docKey), "principal identifiers")
	if len(ids) != 1 || !strings.HasPrefix(ids[0], "aws_iam_openid_connect_provider.") || !strings.HasSuffix(ids[0], ".arn") {
		t.Fatalf("principal identifiers = %v, want the ARN of this configuration's aws_iam_openid_connect_provider", ids)
	}
	providerKey := strings.TrimSuffix(ids[0], ".arn")
	provider := c.Resources[providerKey]
	if got := strs(t, mustEval(t, e, provider.Body, "client_id_list", nil, providerKey), "client_id_list"); !reflect.DeepEqual(got, []string{"sts.amazonaws.com"}) {
		t.Errorf("%s.client_id_list = %v, want [sts.amazonaws.com]", providerKey, got)
	}
	fromCluster := false
	for _, tr := range provider.Body.Attributes["url"].Expr.Variables() {
		fromCluster = fromCluster || tr.RootName() == "aws_eks_cluster"
	}
	if !fromCluster {
		t.Errorf("%s.url does not come from the aws_eks_cluster's OIDC issuer", providerKey)
	}

	// Two conditions, both exact: the subject is the controller's
	// ServiceAccount and the audience is STS.
	want := map[string][]string{
		"sub": {"system:serviceaccount:kube-system:aws-load-balancer-controller"},
		"aud": {"sts.amazonaws.com"},
	}
	keyOf := regexp.MustCompile(`^` + regexp.QuoteMeta(providerKey) + `\.(url|arn):(sub|aud)$`)
	seen := map[string]bool{}
	for _, cond := range Blocks(st, "condition") {
		test := mustEval(t, e, cond.Body, "test", nil, docKey).AsString()
		variable := mustEval(t, e, cond.Body, "variable", nil, docKey).AsString()
		values := strs(t, mustEval(t, e, cond.Body, "values", nil, docKey), "condition values")
		m := keyOf.FindStringSubmatch(variable)
		if m == nil {
			t.Errorf("condition on %q: want only <OIDC provider of %s>:sub and :aud", variable, providerKey)
			continue
		}
		claim := m[2]
		seen[claim] = true
		if test != "StringEquals" {
			t.Errorf("condition on :%s uses %s, want StringEquals (no wildcards)", claim, test)
		}
		if !reflect.DeepEqual(values, want[claim]) {
			t.Errorf("condition on :%s allows %v, want exactly %v", claim, values, want[claim])
		}
	}
	for claim := range want {
		if !seen[claim] {
			t.Errorf("the trust policy has no condition on the :%s claim", claim)
		}
	}
}

func TestNetworkPoliciesAreEnforcedBeforeTheNodesStart(t *testing.T) {
	c := load(t)
	e := evaluator(t, c, nil)
	addon := ""
	for _, key := range c.ResourcesOfType("aws_eks_addon") {
		body := c.Resources[key].Body
		if mustEval(t, e, body, "addon_name", nil, key).AsString() != "vpc-cni" {
			continue
		}
		var cfg map[string]any
		raw := mustEval(t, e, body, "configuration_values", nil, key).AsString()
		if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
			t.Fatalf("%s.configuration_values is not JSON: %v", key, err)
		}
		if cfg["enableNetworkPolicy"] != "true" {
			t.Errorf("%s does not set enableNetworkPolicy = \"true\": EKS would ignore the chart's NetworkPolicies", key)
		}
		addon = key
	}
	if addon == "" {
		t.Fatal("no aws_eks_addon manages vpc-cni, so NetworkPolicies are not enforced")
	}
	for _, key := range c.ResourcesOfType("aws_eks_node_group") {
		dep := false
		if a, ok := c.Resources[key].Body.Attributes["depends_on"]; ok {
			for _, tr := range a.Expr.Variables() {
				if n, ok := stepName(tr, 1); ok && tr.RootName()+"."+n == addon {
					dep = true
				}
			}
		}
		if !dep {
			t.Errorf("%s does not depend on %s: nodes could start before the CNI enforces policies", key, addon)
		}
	}
}

func TestTheControllerPolicyFileIsAnIAMPolicy(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(moduleDir, "policies", "aws-load-balancer-controller.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   []string
			Resource any
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the policy is not valid JSON: %v", err)
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("Version = %q, want 2012-10-17", doc.Version)
	}
	actions := map[string]bool{}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || len(s.Action) == 0 || s.Resource == nil {
			t.Errorf("malformed statement %+v", s)
		}
		for _, a := range s.Action {
			actions[a] = true
		}
	}
	for _, a := range []string{
		"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup",
		"elasticloadbalancing:RegisterTargets", "ec2:CreateSecurityGroup",
		"ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSubnets", "wafv2:AssociateWebACL",
	} {
		if !actions[a] {
			t.Errorf("the policy does not allow %s", a)
		}
	}
}

func TestTheECRRepositoryHasALifecyclePolicy(t *testing.T) {
	c := load(t)
	e := evaluator(t, c, nil)
	repos := c.ResourcesOfType("aws_ecr_repository")
	if len(repos) != 1 {
		t.Fatalf("%d aws_ecr_repository resources, want 1", len(repos))
	}
	covered := false
	for _, key := range c.ResourcesOfType("aws_ecr_lifecycle_policy") {
		body := c.Resources[key].Body
		if mustEval(t, e, body, "repository", nil, key).AsString() != repos[0]+".name" {
			continue
		}
		var policy struct {
			Rules []struct {
				RulePriority int
				Selection    map[string]any
				Action       map[string]any
			}
		}
		if err := json.Unmarshal([]byte(mustEval(t, e, body, "policy", nil, key).AsString()), &policy); err != nil {
			t.Fatalf("%s.policy is not JSON: %v", key, err)
		}
		if len(policy.Rules) == 0 {
			t.Fatalf("%s has no rules", key)
		}
		covered = true
	}
	if !covered {
		t.Errorf("no aws_ecr_lifecycle_policy applies to %s", repos[0])
	}
}

func TestTheLayoutFollowsTheModuleConventions(t *testing.T) {
	c := load(t)
	for _, f := range []string{"versions.tf", "variables.tf", "main.tf", "outputs.tf"} {
		if _, err := os.Stat(filepath.Join(moduleDir, f)); err != nil {
			t.Errorf("%s is missing", f)
		}
	}
	if len(c.Modules) > 0 {
		t.Errorf("module blocks %v cannot be installed offline, so `terraform validate` could not run here", keysOf(c.Modules))
	}
	e := evaluator(t, c, nil)
	for name, v := range c.Variables {
		for _, attr := range []string{"type", "description", "default"} {
			if _, ok := v.Body.Attributes[attr]; !ok {
				t.Errorf("variable %s has no %s", name, attr)
			}
		}
	}
	for name, o := range c.Outputs {
		if _, ok := o.Body.Attributes["description"]; !ok {
			t.Errorf("output %s has no description", name)
		}
	}
	for _, name := range []string{"cluster_name", "region", "ecr_repository_url", "kubeconfig_command", "lb_controller_role_arn"} {
		if c.Outputs[name] == nil {
			t.Errorf("output %s is missing", name)
		}
	}

	pinned := false
	for _, tf := range c.Terraform {
		if _, ok := tf.Body.Attributes["required_version"]; !ok {
			t.Error("the terraform block does not pin required_version")
		}
		for _, rp := range Blocks(tf.Body, "required_providers") {
			aws, ok := rp.Body.Attributes["aws"]
			if !ok {
				continue
			}
			v, err := e.Eval(aws.Expr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.GetAttr("source").AsString() == "hashicorp/aws" && v.Type().HasAttribute("version") && v.GetAttr("version").AsString() != "" {
				pinned = true
			}
		}
	}
	if !pinned {
		t.Error("required_providers does not pin a version of hashicorp/aws")
	}

	// Tags on everything: the provider tags every resource it creates.
	tagged := false
	for _, p := range c.Providers {
		for _, dt := range Blocks(p.Body, "default_tags") {
			tags := mustEval(t, e, dt.Body, "tags", nil, "provider default_tags")
			if tags.Type().IsObjectType() && tags.Type().HasAttribute("Project") {
				tagged = true
			}
		}
	}
	if !tagged {
		t.Error("the aws provider has no default_tags with a Project tag")
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

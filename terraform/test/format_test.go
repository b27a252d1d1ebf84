package statictest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// TestTheFilesAreCanonicallyFormatted is `terraform fmt -check` without the
// terraform binary: Terraform formats with this same hclwrite.Format, so make
// test needs only Go. `make terraform-check` also runs the real `terraform fmt`.
func TestTheFilesAreCanonicallyFormatted(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../*.tf", "../tests/*.tftest.hcl", "../*.tfvars.example"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	if len(files) < 4 {
		t.Fatalf("found only %d Terraform files: %v", len(files), files)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if formatted := hclwrite.Format(src); !bytes.Equal(formatted, src) {
			t.Errorf("%s is not formatted: run `terraform fmt -recursive terraform`", file)
		}
	}
}

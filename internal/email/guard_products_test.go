package email

import "testing"

func TestNamesProducts(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{
		"Get {{.First.Name}} for less":                                   true,
		"{{if .Products}}x{{else}}{{.First.Name}}{{end}}":                true,
		"{{if .Customer.FirstName}}{{.First.Name}}{{end}}":               true,
		"{{range .Products}}{{.Name}}{{end}}":                            false,
		"{{if gt (len .Products) 0}}{{.First.Name}}{{else}}yours{{end}}": false,
		"{{with .First}}{{.Name}}{{end}}":                                false,
		"Hi {{.Customer.FirstName}}, your {{.Trigger.ProductName}}":      false,
		"15% off, this week":                                             false,
		"{{.Oops":                                                        false,
	} {
		if got := NamesProducts(text); got != want {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
}

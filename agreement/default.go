package agreement

import _ "embed"

// Default is a starting agreement: the one `tandem demo` activates, and a template for
// teams writing their own.
//
//go:embed default.yaml
var Default []byte

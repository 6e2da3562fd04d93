package agreement

import (
	"reflect"

	"go.yaml.in/yaml/v3"
)

// OnlyEngagementRulesDiffer reports whether two agreement documents (YAML or JSON) say
// the same but for their engagement rules: the same half-life, fit rules, grades, stages
// and everything else, written as the same values. A contact whose engagement comes out
// as before then settles on the same grade and stage under either. Documents that do
// not parse, or differ anywhere else, even in a name or a comment-free rewording such as
// 8 for 8.0, do not.
func OnlyEngagementRulesDiffer(a, b []byte) bool {
	var x, y map[string]any
	if yaml.Unmarshal(a, &x) != nil || yaml.Unmarshal(b, &y) != nil || x == nil || y == nil {
		return false
	}
	for _, doc := range []map[string]any{x, y} {
		if s, ok := doc["scoring"].(map[string]any); ok {
			if e, ok := s["engagement"].(map[string]any); ok {
				delete(e, "rules")
			}
		}
	}
	return reflect.DeepEqual(x, y)
}

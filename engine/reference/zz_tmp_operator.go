package reference

import "fmt"

// TEMPORARY until engine/reference/conditions lands; not committed.
func evalOperator(key any, op string, value any) (bool, error) {
	switch op {
	case "Equals":
		return fmt.Sprint(key) == fmt.Sprint(value), nil
	case "NotEquals":
		return fmt.Sprint(key) != fmt.Sprint(value), nil
	}
	return false, fmt.Errorf("failed to create handler for condition operator: %w", nil)
}

package lang

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// inventory maps every row of the language inventory's tables 1.1
// (lexical elements), 1.2 (top-level constructs), 1.4 (statements) and
// 1.5 (expressions) in ../shared/reference/stp-language.md to the corpus
// scripts that exercise it, accepted and rejected. TestInventory keeps it
// true: every row has a script that parses, every name is a script, and
// every script of the corpus is indexed here.
var inventory = []struct {
	row    string
	ok, ko []string // names in testdata/parseok and testdata/parseko
}{
	{"1.1 comments #, //, /* */ (but $# and @#)",
		[]string{
			"comments", "lex_comments_between_tokens", "lex_hash_after_args",
		},
		[]string{
			"unterminated_comment",
		}},
	{"1.1 white space insignificant; ; optional, a null statement",
		[]string{
			"nosemicolons", "lex_null_statements", "lex_free_layout", "lex_crlf", "lex_tabs_formfeed",
		},
		[]string{
			"missing_semicolon", "top_semicolon_after_probe", "top_semicolon_after_function",
			"top_double_semicolon",
		}},
	{"1.1 identifiers [A-Za-z_$][A-Za-z0-9_$]*, leading $ a context variable",
		[]string{
			"dollar_idents", "lex_identifiers", "lex_dollar_words",
		},
		[]string{
			"control_char", "invalid_char", "lex_at_alone",
		}},
	{"1.1 integer literals: decimal, 0x, 0 octal, 64 bits, wrapping",
		[]string{
			"numbers", "lex_int_hex", "lex_int_octal", "lex_int_limits",
		},
		[]string{
			"bad_numbers", "int_range", "lex_bad_hex", "lex_neg_literal_range",
		}},
	{"1.1 string literals: C escapes, adjacent literals join, @1 glued in",
		[]string{
			"strings", "lex_string_escapes", "lex_string_unknown_escapes", "lex_string_adjacent",
			"lex_string_glued_arg", "lex_string_utf8",
		},
		[]string{
			"unterminated_string", "bad_escape", "lex_unterminated_string_eof",
		}},
	{"1.1 keywords, @-words, %{ %}, @define, %( %? %: %)",
		[]string{
			"lex_keywords", "keywords_in_points", "lex_operators_unspaced", "lex_embedded_c_text",
			"top_define_simple", "pp_nested",
		},
		[]string{
			"lex_keyword_string", "lex_keyword_long_global", "lex_keyword_in_expr",
			"lex_printer_as_variable", "lex_operator_greed", "embedded_unterminated", "unknown_at",
		}},
	{"1.1 script arguments $1..$N (pasted), @1..@N, $#, @#",
		[]string{
			"lex_script_args_paste", "lex_script_arg_point", "lex_script_arg_expression",
			"lex_script_arg_strings", "lex_hash_after_args", "pp_script_args",
		},
		[]string{
			"lex_arg_out_of_range", "lex_arg_zero", "lex_arg_nested", "lex_arg_unterminated",
		}},
	{"1.2 probe PP[, PP...] [if (cond)] { ... }",
		[]string{
			"probe_points", "many_probes", "probe_cond", "timers", "top_probe_braces",
			"top_probe_braces_nested", "top_probe_braces_suffixes", "top_probe_conditions",
			"top_probe_list", "top_probe_literal_args", "top_probe_optional", "top_probe_sequence",
			"top_probe_wildcards",
		},
		[]string{
			"begin_parens", "timer_parens", "point_arg", "missing_probe", "semicolon_after_point", "resync",
			"top_probe_arg_expression", "top_probe_arg_range", "top_probe_brace_unclosed",
			"top_probe_components_spaced", "top_probe_condition_no_parens", "top_probe_condition_twice",
			"top_probe_empty_brace_group", "top_probe_no_body", "top_probe_no_points",
			"top_probe_number_component", "top_probe_optional_and_sufficient", "top_probe_suffix_inside",
			"top_probe_suffix_twice", "empty", "top_statement",
		}},
	{"1.2 aliases: NAME = PP { }, NAME += PP { }, = PP {pro},{epi}",
		[]string{
			"aliases", "top_alias_chain", "top_alias_parameterised", "top_alias_prologue_epilogue",
		},
		[]string{
			"top_alias_epilogue_combined", "top_alias_no_points", "top_alias_optional_name",
			"top_alias_two_names",
		}},
	{"1.2 global: initialisers, sizes [N], wrap %",
		[]string{
			"globals", "top_global_inits", "sema_duplicate_global", "top_global_semicolons", "top_global_wrap",
		},
		[]string{
			"bad_array_size", "global_eqeq", "global_init_expr", "top_global_init_variable",
			"top_global_missing_comma", "top_global_number_name", "top_global_size_expression",
		}},
	{"1.2 private global x, private x, private function f",
		[]string{
			"private_decls", "top_private_forms",
		},
		[]string{
			"private_bad",
		}},
	{"1.2 function name[:type](arg[:type], ...)[:priority] { }",
		[]string{
			"functions", "priority", "top_function_types", "top_function_priority",
			"top_function_overloads", "top_function_keyword_names",
		},
		[]string{
			"bad_type", "top_function_bad_param", "top_function_duplicate_param",
			"top_function_missing_comma", "top_function_name_keyword", "top_function_no_body",
			"top_function_no_parens", "top_function_param_type", "top_function_priority_negative",
			"top_function_priority_string", "top_function_priority_zero", "top_function_type_after_params",
		}},
	{"1.2 embedded C: function f() %{ %}, top-level %{ %}",
		[]string{
			"top_function_embedded", "top_embedded_many", "lex_embedded_c_text", "expr_embedded",
		},
		[]string{
			"embedded_unterminated",
		}},
	{"1.2 @define NAME %( %), @define NAME(a, b) %( @a %) (library macros: TestLibraryMacros)",
		[]string{
			"top_define_brackets_in_args", "top_define_closure", "top_define_conditional_body",
			"top_define_declarations", "top_define_empty", "top_define_no_params_then_parens",
			"top_define_params", "top_define_simple",
		},
		[]string{
			"macro_bad_expansion", "macro_bad_name", "macro_bad_params", "macro_define_define",
			"macro_define_in_body", "macro_duplicate_param", "macro_missing_args", "macro_no_body",
			"macro_redefined", "macro_too_few_args", "macro_too_many_args", "macro_unclosed_args",
			"macro_unclosed_body", "macro_used_before_defined",
		}},
	{"1.2 %( COND %? ... %: ... %): kernel_v[r], arch, CONFIG_, runtime, systemtap_v, privilege, guru_mode, literals, && ||",
		[]string{
			"pp_and_or", "pp_arch", "pp_config_numbers", "pp_config_strings", "pp_define_in_branch",
			"pp_else_only", "pp_in_expressions", "pp_kernel_v", "pp_kernel_v_patterns", "pp_kernel_vr",
			"pp_literals", "pp_macros_in_conditions", "pp_nested", "pp_privilege_guru", "pp_runtime",
			"pp_script_args", "pp_skipped_garbage", "pp_systemtap_v",
		},
		[]string{
			"pp_arch_ordered", "pp_close_without_open", "pp_config_bad_operand", "pp_config_not_number",
			"pp_config_string_ordered", "pp_else_without_open", "pp_error_in_taken_branch",
			"pp_guru_mode_ordered", "pp_guru_mode_two", "pp_incomplete_condition", "pp_kernel_v_number",
			"pp_missing_then", "pp_mixed_literals", "pp_not_an_operator", "pp_not_closed", "pp_parentheses",
			"pp_privilege_ordered", "pp_runtime_number", "pp_then_without_open", "pp_two_elses",
			"pp_unknown_condition", "pp_version_pattern_ordered",
		}},
	{"1.4 expression statement, { } block, ; null statement",
		[]string{
			"statements", "nested_blocks", "stmt_expression_forms", "stmt_blocks", "lex_null_statements",
		},
		[]string{
			"missing_semicolon", "stray_brace", "unclosed_block", "probe_in_body",
		}},
	{"1.4 if (e) s [else s]",
		[]string{
			"stmt_if_chains", "stmt_if_semicolons",
		},
		[]string{
			"else_without_if", "stmt_if_no_body", "stmt_if_no_parens", "stmt_if_unclosed_condition",
			"stmt_else_no_body", "stmt_block_after_else_eof",
		}},
	{"1.4 while, for, break, continue",
		[]string{
			"stmt_while", "stmt_for_forms", "stmt_break_continue",
		},
		[]string{
			"stmt_while_empty_condition", "stmt_for_comma", "stmt_for_no_parens", "stmt_for_two_parts",
		}},
	{"1.4 foreach: keys, value, sorts, @agg sorts, slices, limit",
		[]string{
			"foreach", "stmt_foreach_aggregate_sorts", "stmt_foreach_limits", "stmt_foreach_nested",
			"stmt_foreach_slices", "stmt_foreach_sorts", "agg_hist_foreach",
		},
		[]string{
			"foreach_bad", "foreach_two_sorts", "stmt_foreach_aggregate_no_mark",
			"stmt_foreach_empty_limit", "stmt_foreach_expression_array", "stmt_foreach_literal_key",
			"stmt_foreach_minus_equals", "stmt_foreach_no_keys", "stmt_foreach_sort_histogram",
			"stmt_foreach_sort_twice_value", "stmt_foreach_two_values", "stmt_foreach_unclosed_keys",
		}},
	{"1.4 return e / return",
		[]string{
			"returns", "stmt_return_forms", "sema_return_in_probe",
		},
		[]string{
			"stmt_return_keyword",
		}},
	{"1.4 next",
		[]string{
			"stmt_next",
		},
		nil},
	{"1.4 delete A[k], A[k, *], A, scalar, stat",
		[]string{
			"delete_forms", "stmt_delete_forms",
		},
		[]string{
			"stmt_delete_nothing",
		}},
	{"1.4 try { } catch [(msg)] { }",
		[]string{
			"try_catch", "stmt_try_catch",
		},
		[]string{
			"stmt_try_no_catch", "stmt_catch_literal", "stmt_try_not_block", "stmt_catch_not_block",
		}},
	{"1.4 A[k] <<< v, s <<< v",
		[]string{
			"stmt_accumulate", "assign_ops",
		},
		[]string{
			"not_assignable",
		}},
	{"1.5 arithmetic * / % + -, unary + - ! ~, ++ -- pre and post",
		[]string{
			"precedence", "unary_chain", "incdec", "expr_arithmetic", "expr_unary", "expr_increments",
		},
		[]string{
			"expr_missing_operand", "expr_two_operators", "expr_preincrement_unary",
			"expr_preincrement_twice", "not_assignable",
		}},
	{"1.5 shifts and bitwise << >> & ^ |",
		[]string{
			"expr_shifts", "expr_bitwise",
		},
		nil},
	{"1.5 logic && || !, ?:",
		[]string{
			"ternary", "expr_logic", "expr_ternary",
		},
		[]string{
			"expr_ternary_no_colon", "expr_ternary_assign",
		}},
	{"1.5 comparison < > <= >= == !=",
		[]string{
			"expr_comparisons",
		},
		[]string{
			"expr_in_then_compare",
		}},
	{"1.5 regex =~ !~",
		[]string{
			"expr_regex", "lex_string_unknown_escapes",
		},
		[]string{
			"expr_regex_variable", "expr_regex_then_compare", "expr_compare_then_regex",
			"lex_operator_greed",
		}},
	{"1.5 string concatenation . and .=",
		[]string{
			"concat_assign", "expr_concat",
		},
		[]string{
			"expr_concat_missing_operand",
		}},
	{"1.5 assignment = += -= *= /= %= <<= >>= &= ^= |= .=",
		[]string{
			"assign_ops", "expr_assignments", "index_multi",
		},
		[]string{
			"not_assignable", "expr_assign_missing_value",
		}},
	{"1.5 membership k in A, [k1, k2] in A, [*, k] in A",
		[]string{
			"in_expr", "expr_membership", "expr_bracket_alone", "agg_hist_in",
		},
		[]string{
			"expr_in_chain", "expr_in_no_array", "expr_bracket_list", "expr_star_index",
		}},
	{"1.5 grouping ( e ) and calls f(args)",
		[]string{
			"parens", "calls", "expr_grouping_calls", "expr_printers", "sema_printf_format", "sema_print_arity",
		},
		[]string{
			"missing_close_paren", "unclosed_paren_eof", "expr_extra_paren", "expr_call_trailing_comma",
			"expr_comma_in_parens", "expr_index_trailing_comma", "expr_empty_index",
		}},
	{"1.5 context: $var ->f [i] $ $$ &, $$vars..., @cast @var @defined @entry @const @probewrite @kregister @uregister @kderef @uderef",
		[]string{
			"targetvars", "autocast", "ctx_address_of", "ctx_assign", "ctx_atvar", "ctx_autocast",
			"ctx_cast", "ctx_defined_entry", "ctx_indexes", "ctx_operators", "ctx_pretty",
			"ctx_target_vars",
		},
		[]string{
			"ctx_address_alone", "ctx_address_twice", "ctx_atvar_variable", "ctx_cast_empty_type",
			"ctx_cast_no_type", "ctx_cast_too_many", "ctx_cast_type_variable", "ctx_const_empty",
			"ctx_const_variable", "ctx_defined_empty", "ctx_deref_one_argument", "ctx_entry_two",
			"ctx_index_unclosed", "ctx_member_missing", "ctx_member_number", "ctx_misspelt_cast",
			"ctx_perf_empty", "ctx_pretty_then_index", "ctx_pretty_then_member", "ctx_probewrite_element",
			"ctx_register_variable", "ctx_unknown_operator",
		}},
	{"1.5 aggregates @count ... @variance, @hist_linear, @hist_log, [bucket], foreach over a histogram",
		[]string{
			"aggregates", "hist", "agg_arrays_of_stats", "agg_extractors", "agg_hist_foreach",
			"agg_hist_in", "agg_hist_index", "agg_hist_print", "agg_variance_shift",
		},
		[]string{
			"at_args", "agg_count_parameter", "agg_hist_as_value", "agg_hist_index_expression",
			"agg_hist_linear_short", "agg_hist_linear_variable", "agg_hist_log_parameter",
			"agg_hist_print_extra", "agg_hist_print_parens", "agg_hist_print_second", "agg_stat_unclosed",
			"agg_variance_two_parameters", "agg_variance_variable",
		}},
}

func TestInventory(t *testing.T) {
	indexed := map[string]bool{}
	for _, r := range inventory {
		assert.NotEmpty(t, r.ok, "%s: no script that parses", r.row)
		for dir, names := range map[string][]string{"parseok": r.ok, "parseko": r.ko} {
			for _, name := range names {
				path := filepath.Join("testdata", dir, name+".stp")
				_, err := os.Stat(path)
				assert.NoError(t, err, "%s names %s", r.row, path)
				indexed[path] = true
			}
		}
	}
	for _, dir := range []string{"parseok", "parseko"} {
		for path := range corpus(t, dir) {
			assert.True(t, indexed[path], "%s is in no row of the inventory", path)
		}
	}
}

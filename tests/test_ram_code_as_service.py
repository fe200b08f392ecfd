"""A RAM code no service is named by (`yundun-sas`, the code Sas, cloud-siem and sophonsoar
share; `mq`) is still an unknown service — the language names services by product name or
alias — but E0212's help now names the products that own the code, the one holding the
rule's operation written out, instead of a look-alike name ("did you mean waf-openapi?")
(reviewer finding 5)."""

from __future__ import annotations

from compiler.catalog import default_catalog


def test_the_help_names_the_product_holding_the_operation(run_cli, tmp_path):
    rules = tmp_path / "y.rules"
    rules.write_text("deny yundun-sas DescribeClusterBasicInfo\n")
    result = run_cli("check", rules)
    assert result.exit_code == 1
    text = " ".join(result.stderr.split())
    assert "y.rules:1:6: error: unknown service `yundun-sas` [E0212]" in text
    assert "waf-openapi" not in text
    assert "`yundun-sas` is a RAM code, not a service name" in text
    assert "Sas, cloud-siem and sophonsoar" in text
    assert "write `Sas DescribeClusterBasicInfo`" in text
    # What the help says to write compiles, and emits the code the user typed.
    rules.write_text("deny Sas DescribeClusterBasicInfo\n")
    assert run_cli("check", rules).exit_code == 0
    decided = run_cli("decide", "--rules", rules, "yundun-sas:DescribeClusterBasicInfo")
    assert '"decision": "deny"' in decided.stdout


def test_every_code_no_service_is_named_by_gets_that_help(run_cli, tmp_path):
    catalog = default_catalog()
    names = {n.lower() for s in catalog.services for n in s.names()}
    codes = sorted({c for s in catalog.services for c in s.ram_codes} - names)
    assert codes  # yundun-sas and mq at least
    for code in codes:
        rules = tmp_path / "c.rules"
        rules.write_text(f"deny {code} *\n")
        result = run_cli("check", rules)
        assert result.exit_code == 1
        assert f"`{code}` is a RAM code, not a service name" in " ".join(result.stderr.split())


def test_a_plain_typo_keeps_its_did_you_mean(run_cli, tmp_path):
    rules = tmp_path / "t.rules"
    rules.write_text("deny Ecz RunInstances\n")
    result = run_cli("check", rules)
    assert result.exit_code == 1
    assert "did you mean" in result.stderr

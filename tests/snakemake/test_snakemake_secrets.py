"""No secret reaches the disk: params, nested config, --config pairs, environment, user patterns."""

from __future__ import annotations

from pathlib import Path

from smk_helpers import latest, snakemake, write_workflow

SECRETS = (
    "sk-LIVE-abc",
    "nestedpw-777",
    "sk-cli-XYZ789",
    "envsecret-99999",
    "pin-31337x",
    "dc-pw-4545",
)

SNAKEFILE = """
from dataclasses import dataclass

configfile: "config.yaml"

@dataclass
class Login:
    user: str
    password: str

rule all:
    input: "hashed.txt", "failed.txt", "raised.txt", "structured.txt"

rule structured:
    output: "structured.txt"
    params: login=Login("bob", "dc-pw-4545")
    shell: "echo {params.login.user} > {output}"

rule hashed:
    output: "hashed.txt"
    params: api_token="sk-LIVE-abc", pin="pin-31337x"
    shell: "printf '%s' '{params.api_token}' | sha256sum > {output}; echo {params.pin} >> {output}"

rule failing:
    output: "failed.txt"
    shell:
        '''
        echo {config[db][password]} {config[api_token]} "$MY_TOKEN" > {output}
        echo "cannot log in with {config[db][password]}" >&2
        exit 3
        '''

rule raising:
    output: "raised.txt"
    params: password="sk-LIVE-abc"
    run:
        raise ValueError(f"login refused for {params.password}")
"""


def _everything_written(workdir: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in (workdir / ".yprov").rglob("*") if p.is_file()
    )


def test_secret_values_never_reach_the_journal_or_the_document(workdir: Path) -> None:
    write_workflow(
        workdir, SNAKEFILE, {"config.yaml": "db:\n  host: x\n  password: nestedpw-777\n"}
    )
    result = snakemake(
        workdir,
        "--keep-going",
        "--config",
        "api_token=sk-cli-XYZ789",
        env={"MY_TOKEN": "envsecret-99999", "YPROV_SECRET_NAMES": "^pin$", "PWD": str(workdir)},
    )
    assert result.returncode != 0  # the failing rule fails, as without provenance
    written = _everything_written(workdir)
    leaked = [s for s in SECRETS if s in written]
    assert not leaked, f"secrets in .yprov: {leaked}"
    run = latest(workdir)
    assert run.run["ywf:workdir"] == str(workdir)  # $PWD is not a password
    assert run.run["config:db"] == '{"host":"x","password":"[redacted]"}'
    assert run.run["config:api_token"] == "[redacted]"
    assert "[redacted]" in run.run["ywf:command_line"]
    (hashed,) = run.steps("hashed")
    assert run.params_of(hashed) == {"api_token": "[redacted]", "pin": "[redacted]"}
    assert "printf '%s' '[redacted]'" in hashed["ywf:command"]
    (failing,) = run.steps("failing")
    assert "[redacted]" in failing["ywf:command"]
    (structured,) = run.steps("structured")  # a param holding a dataclass: by its fields
    assert run.params_of(structured) == {"login": '{"password":"[redacted]","user":"bob"}'}
    (raising,) = run.steps("raising")
    assert raising["ywf:error"].startswith("ValueError: login refused for [redacted]")
    assert (workdir / "hashed.txt").read_text().endswith("pin-31337x\n")  # the job saw the value


def test_no_redact_keeps_values(workdir: Path) -> None:
    write_workflow(
        workdir,
        """
        rule a:
            output: "a.txt"
            params: api_token="sk-LIVE-abc"
            shell: "echo {params.api_token} > {output}"
        """,
    )
    snakemake(workdir, "--yprov-no-redact")
    (step,) = latest(workdir).steps("a")
    assert "sk-LIVE-abc" in step["ywf:command"]

"""benchmark-infra's command line: ``invoke --list`` shows every task, ``invoke TASK --help``
its options. This file only assembles the task modules of ``scheduler.tasks`` (one per
concern: runs, analysis, images, batch, infrastructure, sandbox); exit codes are in the README."""

from pathlib import Path

from invoke import Collection

from scheduler.tasks import analysis, batch, images, infrastructure, program, runs, sandbox

program.install()  # parse errors exit 2 with the usage line; --help never runs a task

ns = Collection()
# local runs and results
ns.add_task(runs.run_worker)
ns.add_task(runs.check_job)
ns.add_task(runs.results)
ns.add_task(runs.results_sync)
ns.add_task(runs.compare)
# results over history
ns.add_task(analysis.regressions)
ns.add_task(analysis.report)
# images
ns.add_task(images.build_worker)
ns.add_task(images.build_ci_image)
# Batch runs
ns.add_task(batch.schedule)
ns.add_task(batch.watch)
ns.add_task(batch.cancel)
ns.add_task(batch.logs)
# infrastructure
ns.add_task(infrastructure.stack_template)
ns.add_task(infrastructure.deploy)
ns.add_task(infrastructure.destroy)
ns.add_task(infrastructure.stack_outputs)
ns.add_task(infrastructure.build_ami)
ns.add_task(infrastructure.costs_report)
# sandbox
ns.add_task(sandbox.sandbox_up)
ns.add_task(sandbox.sandbox_down)

ns.configure({"bench": {"root": str(Path(__file__).resolve().parent)}})

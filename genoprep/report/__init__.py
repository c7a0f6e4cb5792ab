"""Report figures for `snakemake --report` (DNA, variants, run summary of every dataset).

Each module builds matplotlib Figures from finished artifacts only (tables and JSON the
modality's rules wrote); :func:`genoprep.plotting.save_figure` writes them as PNGs with
reproducible bytes. The scripts ``scripts/report_*.py`` call them (rules/report.smk).
"""

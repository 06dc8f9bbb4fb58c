from pbp_workbooks.cli.main import main

raise SystemExit(main())

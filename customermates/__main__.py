from customermates.cli import main

raise SystemExit(main())

from edm.cli.main import main

main()

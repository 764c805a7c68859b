from onegate.cli.main import main

main()

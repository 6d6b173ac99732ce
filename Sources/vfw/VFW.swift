import ArgumentParser
@main struct VFW: ParsableCommand { func run() {} }

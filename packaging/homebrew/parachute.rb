# Homebrew formula for parachute, built from source.
#
# No `service do` block on purpose: parachute drives launchd itself
# (`parachute init` writes `computer.parachute.hub`); a brew-rendered
# `homebrew.mxcl.parachute` agent would fight it for the hub's port.
#
# The sha256 is filled at release (packaging/homebrew/README.md).
class Parachute < Formula
  desc "CLI and hub daemon for local services run as native launchd/systemd units"
  homepage "https://github.com/ParachuteComputer/parachute"
  url "https://github.com/ParachuteComputer/parachute/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "AGPL-3.0-only"
  head "https://github.com/ParachuteComputer/parachute.git", branch: "main"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args
    man1.install Dir["man/*.1"]
    man5.install Dir["man/*.5"]
    generate_completions_from_executable(bin/"parachute", "completions")
  end

  def caveats
    <<~EOS
      Set up the hub as your user (it writes and loads its own agent):
        parachute init
      After `brew upgrade parachute`, move the hub onto the new binary:
        parachute upgrade
    EOS
  end

  test do
    assert_match "parachute #{version}", shell_output("#{bin}/parachute --version")
    assert_match "install", shell_output("#{bin}/parachute completions bash")
    assert_path_exists man1/"parachute.1"
    assert_path_exists man5/"parachute-module.5"
  end
end

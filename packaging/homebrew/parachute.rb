# Homebrew formula for parachute. No `service do` block on purpose: a
# `brew services` job would fight parachute's own LaunchAgents (same process,
# different labels). `parachute init` / `parachute install` create the units.
class Parachute < Formula
  desc "Run local services as native launchd/systemd units behind one hub"
  homepage "https://github.com/ParachuteComputer/parachute"
  url "https://github.com/ParachuteComputer/parachute/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "AGPL-3.0-only"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args
    man1.install Dir["man/*.1"]
  end

  def caveats
    <<~EOS
      Set up the hub (a LaunchAgent / systemd user unit) with:
        parachute init
      Services keep running across upgrades; restart them onto the new binary:
        parachute restart
    EOS
  end

  test do
    assert_match "parachute", shell_output("#{bin}/parachute --version")
  end
end

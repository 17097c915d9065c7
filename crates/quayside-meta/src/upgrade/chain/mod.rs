//! Quay's Alembic chain from Quay 3.0's head to [`crate::ALEMBIC_REVISION`], oldest first,
//! one file per Quay release that added the revisions; see docs/UPGRADES.md.
#![allow(non_upper_case_globals)]

use super::ops::Migration;

mod quay_3_0;
mod quay_3_1;
mod quay_3_10;
mod quay_3_11;
mod quay_3_12;
mod quay_3_13;
mod quay_3_14;
mod quay_3_15;
mod quay_3_16;
mod quay_3_17;
mod quay_3_18;
mod quay_3_2;
mod quay_3_3;
mod quay_3_4;
mod quay_3_6;
mod quay_3_7;
mod quay_3_8;
mod quay_3_9;

/// The chain, oldest first. The first entry is the base: a database is created at it
/// whole, and its own ops are never run.
pub static CHAIN: &[&Migration] = &[
    &quay_3_0::M_b918abdbee43,
    &quay_3_1::M_5248ddf35167,
    &quay_3_1::M_c13c8052f7a6,
    &quay_3_1::M_703298a825c2,
    &quay_3_1::M_49e1138ed12d,
    &quay_3_1::M_c059b952ed76,
    &quay_3_2::M_cc6778199cdb,
    &quay_3_2::M_34c8ef052ec9,
    &quay_3_3::M_4fd6b8463eb2,
    &quay_3_3::M_8e6a363784bb,
    &quay_3_3::M_04b9d2191450,
    &quay_3_4::M_3383aad1e992,
    &quay_3_4::M_88e64904d000,
    &quay_3_6::M_909d725887d3,
    &quay_3_7::M_e9f3e4dbb979,
    &quay_3_7::M_10d34e6536f8,
    &quay_3_7::M_b43b44996c26,
    &quay_3_7::M_d94d328733e4,
    &quay_3_8::M_2d66ad598b56,
    &quay_3_8::M_7bca88923f2c,
    &quay_3_9::M_b2d1e4b95fc2,
    &quay_3_9::M_f0875fbc7c7a,
    &quay_3_9::M_a648ab200ab7,
    &quay_3_9::M_43fea47d641f,
    &quay_3_9::M_0246c2d0e750,
    &quay_3_9::M_ab5a24478052,
    &quay_3_10::M_8cf90670bf38,
    &quay_3_10::M_46980ea2dde5,
    &quay_3_10::M_a0fc06d604a4,
    &quay_3_10::M_8a70b8777089,
    &quay_3_10::M_b82361fba1cd,
    &quay_3_10::M_4366f54be43c,
    &quay_3_10::M_222debc16e18,
    &quay_3_10::M_2062bbd5ef0e,
    &quay_3_11::M_8d47693829a0,
    &quay_3_11::M_3f8e3657bb67,
    &quay_3_11::M_41d15c93c299,
    &quay_3_11::M_135fd3e94615,
    &quay_3_12::M_cead4183265c,
    &quay_3_12::M_36cd2b747a08,
    &quay_3_12::M_946f0e90f9c9,
    &quay_3_12::M_0cdd1f27a450,
    &quay_3_12::M_0988213e0885,
    &quay_3_12::M_66147b81aad2,
    &quay_3_12::M_f67fe4871771,
    &quay_3_12::M_2664723e1b4b,
    &quay_3_12::M_8a7ba94c2e84,
    &quay_3_12::M_3f8d7acdf7f9,
    &quay_3_13::M_a32e17bfad20,
    &quay_3_13::M_5b8dc452f5c3,
    &quay_3_13::M_ba263f9be4a6,
    &quay_3_13::M_9085e82074f2,
    &quay_3_13::M_8e97c2cfee57,
    &quay_3_14::M_3634f2df3c5b,
    &quay_3_15::M_e8ed3fb547da,
    &quay_3_15::M_1623f40582ed,
    &quay_3_16::M_7078c84d14e8,
    &quay_3_16::M_9307c3d604b4,
    &quay_3_17::M_27d0df099ac4,
    &quay_3_17::M_a1b2c3d4e5f6,
    &quay_3_17::M_285f36ce97fd,
    &quay_3_17::M_b2c3d4e5f6a7,
    &quay_3_17::M_b1c2d3e4f5a6,
    &quay_3_17::M_15f06d00c4b3,
    &quay_3_17::M_414c5e2fc487,
    &quay_3_17::M_c3d4e5f6a7b8,
    &quay_3_18::M_b1a79fa8e630,
    &quay_3_18::M_d064a4f00d4a,
    &quay_3_18::M_6715e4719375,
    &quay_3_18::M_9fa37f66a9b6,
];
